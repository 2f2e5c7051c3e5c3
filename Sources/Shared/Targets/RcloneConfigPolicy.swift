import Core
import Foundation

/// What an rclone secret may say (docs/security.md, "Targets and secrets"): a backend type from `allowedOptions`, only
/// that backend's options listed there (no `*_command`, no ssh-agent, no environment credentials, no backend whose
/// remote can name a path of the hub or another remote: `local`, `alias`, `union`, `combine`, `chunker`, `crypt`, …),
/// and key files only under the hub's key directory (`<data-dir>/rclone-keys`) or inline (`key_pem`,
/// `service_account_credentials`). Checked when the secret is saved and again before every use.
public enum RcloneConfigPolicy {
    /// Options that name a file rclone reads on the host that runs it.
    public static let fileOptions: Set<String> = [
        "key_file", "pubkey_file", "known_hosts_file", "service_account_file", "service_principal_file", "box_config_file",
        "shared_credentials_file",
    ]

    /// The short names rclone also accepts as a type.
    static let typeAliases = ["gcs": "google cloud storage"]

    /// Per backend type, the options a secret may set (rclone 1.60's options minus the refused ones).
    public static let allowedOptions: [String: Set<String>] = [
        "azureblob": [
            "access_tier", "account", "archive_tier_delete", "chunk_size", "disable_checksum", "encoding", "endpoint", "key", "list_chunk",
            "memory_pool_flush_time", "memory_pool_use_mmap", "msi_client_id", "msi_mi_res_id", "msi_object_id", "no_head_object", "public_access",
            "sas_url", "service_principal_file", "upload_concurrency", "upload_cutoff", "use_emulator", "use_msi",
        ],
        "b2": [
            "account", "chunk_size", "copy_cutoff", "disable_checksum", "download_auth_duration", "download_url", "encoding", "endpoint",
            "hard_delete", "key", "memory_pool_flush_time", "memory_pool_use_mmap", "test_mode", "upload_cutoff", "version_at", "versions",
        ],
        "box": [
            "access_token", "auth_url", "box_config_file", "box_sub_type", "client_id", "client_secret", "commit_retries", "encoding", "list_chunk",
            "owned_by", "root_folder_id", "token", "token_url", "upload_cutoff",
        ],
        "drive": [
            "acknowledge_abuse", "allow_import_name_change", "alternate_export", "auth_owner_only", "auth_url", "chunk_size", "client_id",
            "client_secret", "copy_shortcut_content", "disable_http2", "encoding", "export_formats", "formats", "impersonate", "import_formats",
            "keep_revision_forever", "list_chunk", "pacer_burst", "pacer_min_sleep", "resource_key", "root_folder_id", "scope",
            "server_side_across_configs", "service_account_credentials", "service_account_file", "shared_with_me", "size_as_quota",
            "skip_checksum_gphotos", "skip_dangling_shortcuts", "skip_gdocs", "skip_shortcuts", "starred_only", "stop_on_download_limit",
            "stop_on_upload_limit", "team_drive", "token", "token_url", "trashed_only", "upload_cutoff", "use_created_date", "use_shared_date",
            "use_trash", "v2_download_min_size",
        ],
        "dropbox": [
            "auth_url", "batch_commit_timeout", "batch_mode", "batch_size", "batch_timeout", "chunk_size", "client_id", "client_secret", "encoding",
            "impersonate", "shared_files", "shared_folders", "token", "token_url",
        ],
        "ftp": [
            "close_timeout", "concurrency", "disable_epsv", "disable_mlsd", "disable_tls13", "disable_utf8", "encoding", "explicit_tls",
            "force_list_hidden", "host", "idle_timeout", "no_check_certificate", "pass", "port", "shut_timeout", "tls", "tls_cache_size", "user",
            "writing_mdtm",
        ],
        "google cloud storage": [
            "anonymous", "auth_url", "bucket_acl", "bucket_policy_only", "client_id", "client_secret", "decompress", "encoding", "endpoint",
            "location", "no_check_bucket", "object_acl", "project_number", "service_account_credentials", "service_account_file", "storage_class",
            "token", "token_url",
        ],
        "hidrive": [
            "auth_url", "chunk_size", "client_id", "client_secret", "disable_fetching_member_count", "encoding", "endpoint", "root_prefix",
            "scope_access", "scope_role", "token", "token_url", "upload_concurrency", "upload_cutoff",
        ],
        "jottacloud": ["encoding", "hard_delete", "md5_memory_limit", "no_versions", "trashed_only", "upload_resume_limit"],
        "koofr": ["encoding", "endpoint", "mountid", "password", "password", "password", "provider", "setmtime", "user"],
        "mailru": [
            "check_hash", "encoding", "pass", "quirks", "speedup_enable", "speedup_file_patterns", "speedup_max_disk", "speedup_max_memory", "user",
            "user_agent",
        ],
        "onedrive": [
            "access_scopes", "auth_url", "chunk_size", "client_id", "client_secret", "disable_site_permission", "drive_id", "drive_type", "encoding",
            "expose_onenote_files", "link_password", "link_scope", "link_type", "list_chunk", "no_versions", "region", "root_folder_id",
            "server_side_across_configs", "token", "token_url",
        ],
        "opendrive": ["chunk_size", "encoding", "password", "username"],
        "pcloud": ["auth_url", "client_id", "client_secret", "encoding", "hostname", "password", "root_folder_id", "token", "token_url", "username"],
        "s3": [
            "access_key_id", "acl", "bucket_acl", "chunk_size", "copy_cutoff", "decompress", "disable_checksum", "disable_http2", "download_url",
            "encoding", "endpoint", "endpoint", "endpoint", "endpoint", "endpoint", "endpoint", "endpoint", "endpoint", "endpoint", "endpoint",
            "endpoint", "endpoint", "endpoint", "endpoint", "force_path_style", "leave_parts_on_error", "list_chunk", "list_url_encode",
            "list_version", "location_constraint", "location_constraint", "location_constraint", "location_constraint", "location_constraint",
            "location_constraint", "location_constraint", "max_upload_parts", "memory_pool_flush_time", "memory_pool_use_mmap", "might_gzip",
            "no_check_bucket", "no_head", "no_head_object", "no_system_metadata", "profile", "provider", "region", "region", "region", "region",
            "region", "region", "region", "region", "requester_pays", "secret_access_key", "server_side_encryption", "session_token",
            "shared_credentials_file", "sse_customer_algorithm", "sse_customer_key", "sse_customer_key_base64", "sse_customer_key_md5",
            "sse_kms_key_id", "storage_class", "storage_class", "storage_class", "storage_class", "storage_class", "storage_class", "storage_class",
            "upload_concurrency", "upload_cutoff", "use_accelerate_endpoint", "use_multipart_etag", "use_presigned_request", "v2_auth", "version_at",
            "versions",
        ],
        "seafile": ["2fa", "auth_token", "create_library", "encoding", "library", "library_key", "pass", "url", "user"],
        "sftp": [
            "chunk_size", "concurrency", "disable_concurrent_reads", "disable_concurrent_writes", "disable_hashcheck", "host", "idle_timeout",
            "key_file", "key_file_pass", "key_pem", "known_hosts_file", "pass", "port", "pubkey_file", "set_modtime", "shell_type", "skip_links",
            "subsystem", "use_fstat", "use_insecure_cipher", "user",
        ],
        "smb": ["case_insensitive", "domain", "encoding", "hide_special_share", "host", "idle_timeout", "pass", "port", "user"],
        "swift": [
            "application_credential_id", "application_credential_name", "application_credential_secret", "auth", "auth_token", "auth_version",
            "chunk_size", "domain", "encoding", "endpoint_type", "key", "leave_parts_on_error", "no_chunk", "no_large_objects", "region",
            "storage_policy", "storage_url", "tenant", "tenant_domain", "tenant_id", "user", "user_id",
        ],
        "webdav": ["bearer_token", "encoding", "headers", "pass", "url", "user", "vendor"],
        "yandex": ["auth_url", "client_id", "client_secret", "encoding", "hard_delete", "token", "token_url"],
    ]

    /// `options` (as `RcloneStore.parseConfig` reads them) checked against the policy; file options resolved to their
    /// real path under `keyDirectory` (nil: none is allowed, as on an agent). Throws `rclone_config_refused` naming
    /// the option.
    public static func check(_ options: [String: String], keyDirectory: String?) throws -> [String: String] {
        let type = options["type"] ?? ""
        guard let allowed = allowedOptions[typeAliases[type] ?? type] else {
            throw TargetError(
                "rclone_config_refused",
                "the rclone backend type \(type.prefix(40)) is not allowed",
                hint: "allowed: " + allowedOptions.keys.sorted().joined(separator: ", ")
            )
        }
        var checked = options
        for (key, value) in options where key != "type" {
            guard allowed.contains(key) else {
                throw TargetError("rclone_config_refused", "the rclone option \(key.prefix(60)) is not allowed for type \(type)")
            }
            if fileOptions.contains(key) && !value.isEmpty {
                checked[key] = try keyFile(value, option: key, keyDirectory: keyDirectory)
            }
        }
        return checked
    }

    /// The real path of a key file, which must be a regular file inside `keyDirectory`.
    static func keyFile(_ value: String, option: String, keyDirectory: String?) throws -> String {
        guard let keyDirectory else {
            throw TargetError("rclone_config_refused", "the rclone option \(option) names a file: give the key inline in the secret")
        }
        let refused = TargetError(
            "rclone_config_refused",
            "the rclone option \(option) must name a file in \(keyDirectory)",
            hint: "put the key file in \(keyDirectory), or give the key inline in the secret"
        )
        guard value.hasPrefix("/"), let real = realpath(value, nil), let directory = realpath(keyDirectory, nil) else { throw refused }
        defer {
            free(real)
            free(directory)
        }
        let path = String(cString: real)
        var info = stat()
        guard path.hasPrefix(String(cString: directory) + "/"), stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw refused }
        return path
    }
}
