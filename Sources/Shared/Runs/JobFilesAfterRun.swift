import Core
import Logging
import Store
import Targets

extension RunWorker {
    /// After a successful backup of an encrypted job (`target`: the job's) or a copy of one of its snapshots (`target`:
    /// the copy target): writes `bastion-job.json` and the escrowed key file beside its snapshots when the target lacks
    /// them (one listing when they are there; docs/recovery.md). A failure is a warning event, never the run's failure:
    /// the snapshot is written, and the next backup or copy tries again.
    func ensureJobFilesAfterRun(job: Job, target: JobSpec.Target, events: any RunEvents, logger: Logger) async {
        guard JobFiles.keyName(spec: job.spec) != nil else { return }
        do {
            let written = try await database.ensureJobFiles(
                jobId: job.id,
                target: target,
                secrets: HubTargetSecrets(database: database),
                logger: logger
            )
            if !written.isEmpty {
                events.emit(
                    kind: "job_files",
                    message: "Wrote \(written.joined(separator: ", ")) beside the snapshots",
                    fields: .object(["files": .array(written.map(JSONValue.string))])
                )
            }
        } catch {
            logger.warning("Job files not written to the target", metadata: ["error": "\(error)"])
            events.emit(.warn, kind: "job_files", message: "The job's recovery files could not be written to the target: \(error)")
        }
    }
}
