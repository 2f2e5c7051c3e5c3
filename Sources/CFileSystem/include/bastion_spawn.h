#ifndef BASTION_SPAWN_H
#define BASTION_SPAWN_H

#include <sys/types.h>

/// pipe2(fds, O_CLOEXEC).
int bastion_pipe_cloexec(int fds[2]);

/// Spawns `path` for a job hook (docs/hooks.md, "Processes"): in a new process group, in `cwd`, stdin /dev/null,
/// stdout and stderr on `out_fd` and `err_fd`, every other descriptor closed, an empty signal mask and default signal
/// dispositions, exactly `envp` as its environment. Returns 0 or posix_spawn's error number.
int bastion_spawn_hook(pid_t *pid, const char *path, char *const argv[], char *const envp[], const char *cwd, int out_fd, int err_fd);

#endif
