// What Swift's Glibc module does not bring: extended attributes (<sys/xattr.h>), the GNU constants and macros
// O_NOATIME, SEEK_DATA, SEEK_HOLE, makedev, major and minor, malloc_trim (<malloc.h>), and openat2. Thin wrappers, compiled with _GNU_SOURCE in bastion_fs.c.
#ifndef BASTION_FS_H
#define BASTION_FS_H

#include <stddef.h>
#include <sys/types.h>

int bastion_o_noatime(void);
int bastion_o_path(void);
int bastion_at_empty_path(void);
int bastion_seek_data(void);
int bastion_seek_hole(void);
unsigned long long bastion_makedev(unsigned int major, unsigned int minor);
unsigned int bastion_major(unsigned long long device);
unsigned int bastion_minor(unsigned long long device);

/// Starts writing back the dirty pages of `count` bytes of `fd` from `offset` without waiting
/// (sync_file_range with SYNC_FILE_RANGE_WRITE), so a later fsync has less to wait for. -1 with errno on failure.
int bastion_start_writeback(int fd, long long offset, long long count);

/// Gives memory freed in every malloc arena back to the system.
void bastion_malloc_trim(void);
void bastion_lower_thread_priority(int nice);

ssize_t bastion_flistxattr(int fd, char *list, size_t size);
ssize_t bastion_fgetxattr(int fd, const char *name, void *value, size_t size);
int bastion_fsetxattr(int fd, const char *name, const void *value, size_t size);
ssize_t bastion_llistxattr(const char *path, char *list, size_t size);
ssize_t bastion_lgetxattr(const char *path, const char *name, void *value, size_t size);
int bastion_lsetxattr(const char *path, const char *name, const void *value, size_t size);
int bastion_setxattr(const char *path, const char *name, const void *value, size_t size);

/// The directory at `path` opened O_RDONLY | O_DIRECTORY | O_CLOEXEC without following a symlink in any component:
/// openat2 with RESOLVE_NO_SYMLINKS, or where the kernel lacks it (ENOSYS) `bastion_open_directory_walk`. With
/// `create`, missing components are created (0755). -1 with errno on failure (ELOOP or ENOTDIR: a symlink).
int bastion_open_directory_nofollow(const char *path, int create);
/// The same, one component at a time with O_NOFOLLOW | O_DIRECTORY; `..` is EINVAL.
int bastion_open_directory_walk(const char *path, int create);

/// btrfs (docs/architecture.md, "Filesystem snapshots"): a read-only snapshot of the subvolume open at `source_fd`,
/// named `name` in the directory open at `directory_fd` (BTRFS_IOC_SNAP_CREATE_V2), and the deletion of the subvolume
/// `name` in that directory (BTRFS_IOC_SNAP_DESTROY). -1 with errno on failure.
int bastion_btrfs_snapshot(int source_fd, int directory_fd, const char *name);
int bastion_btrfs_delete(int directory_fd, const char *name);
/// Whether the file open at `fd` (or at `path`, followed) is on btrfs: 1 yes, 0 no, -1 with errno.
int bastion_fd_on_btrfs(int fd);
int bastion_path_on_btrfs(const char *path);

#endif
