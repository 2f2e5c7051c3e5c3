#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "bastion_fs.h"

int bastion_o_noatime(void) { return O_NOATIME; }
int bastion_o_path(void) { return O_PATH; }
int bastion_at_empty_path(void) { return AT_EMPTY_PATH; }
int bastion_seek_data(void) { return SEEK_DATA; }
int bastion_seek_hole(void) { return SEEK_HOLE; }
unsigned long long bastion_makedev(unsigned int major, unsigned int minor) { return makedev(major, minor); }
unsigned int bastion_major(unsigned long long device) { return major(device); }
unsigned int bastion_minor(unsigned long long device) { return minor(device); }
void bastion_malloc_trim(void) { malloc_trim(0); }
int bastion_start_writeback(int fd, long long offset, long long count) { return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE); }

// The calling thread only (on Linux the scheduling policy and the nice value are per thread): out of a real-time class
// the process may run in, and to `nice`. For work that may wait, such as the pre-scan beside a backup.
void bastion_lower_thread_priority(int nice) {
    struct sched_param parameters = {.sched_priority = 0};
    pthread_setschedparam(pthread_self(), SCHED_OTHER, &parameters);
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
}

ssize_t bastion_flistxattr(int fd, char *list, size_t size) { return flistxattr(fd, list, size); }
ssize_t bastion_fgetxattr(int fd, const char *name, void *value, size_t size) { return fgetxattr(fd, name, value, size); }
int bastion_fsetxattr(int fd, const char *name, const void *value, size_t size) { return fsetxattr(fd, name, value, size, 0); }
ssize_t bastion_llistxattr(const char *path, char *list, size_t size) { return llistxattr(path, list, size); }
ssize_t bastion_lgetxattr(const char *path, const char *name, void *value, size_t size) { return lgetxattr(path, name, value, size); }
int bastion_lsetxattr(const char *path, const char *name, const void *value, size_t size) { return lsetxattr(path, name, value, size, 0); }
int bastion_setxattr(const char *path, const char *name, const void *value, size_t size) { return setxattr(path, name, value, size, 0); }

// The directory at `path`, opened without following a symlink in any component (docs/security.md, "Archives and
// restore"): openat2 with RESOLVE_NO_SYMLINKS when the kernel has it (Linux 5.6), else `bastion_open_directory_walk`.
// A missing directory (ENOENT) is created by the walk when `create` is set.
int bastion_open_directory_nofollow(const char *path, int create) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS;
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
    if (fd >= 0) return fd;
    if (errno == ENOSYS || errno == EPERM || (errno == ENOENT && create)) return bastion_open_directory_walk(path, create);
    return -1;
}

// The same, one component at a time: each opened O_NOFOLLOW | O_DIRECTORY relative to the one before (a symlink is
// ELOOP or ENOTDIR), created with mode 0755 when missing and `create` is set. `..` is refused (EINVAL).
int bastion_open_directory_walk(const char *path, int create) {
    int fd = open(path[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    const char *cursor = path;
    char name[NAME_MAX + 1];
    while (*cursor) {
        while (*cursor == '/') cursor++;
        if (!*cursor) break;
        const char *end = strchr(cursor, '/');
        size_t length = end ? (size_t)(end - cursor) : strlen(cursor);
        cursor += length;
        if (length > NAME_MAX) {
            close(fd);
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(name, cursor - length, length);
        name[length] = 0;
        if (strcmp(name, ".") == 0) continue;
        if (strcmp(name, "..") == 0) {
            close(fd);
            errno = EINVAL;
            return -1;
        }
        int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && create) {
            if (mkdirat(fd, name, 0755) != 0 && errno != EEXIST) {
                int saved = errno;
                close(fd);
                errno = saved;
                return -1;
            }
            next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        int saved = errno;
        close(fd);
        errno = saved;
        if (next < 0) return -1;
        fd = next;
    }
    return fd;
}

int bastion_btrfs_snapshot(int source_fd, int directory_fd, const char *name) {
    struct btrfs_ioctl_vol_args_v2 args;
    memset(&args, 0, sizeof args);
    if (strlen(name) > BTRFS_SUBVOL_NAME_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    args.fd = source_fd;
    args.flags = BTRFS_SUBVOL_RDONLY;
    strncpy(args.name, name, BTRFS_SUBVOL_NAME_MAX);
    return ioctl(directory_fd, BTRFS_IOC_SNAP_CREATE_V2, &args);
}

int bastion_btrfs_delete(int directory_fd, const char *name) {
    struct btrfs_ioctl_vol_args args;
    memset(&args, 0, sizeof args);
    if (strlen(name) > BTRFS_PATH_NAME_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strncpy(args.name, name, BTRFS_PATH_NAME_MAX);
    return ioctl(directory_fd, BTRFS_IOC_SNAP_DESTROY, &args);
}

int bastion_fd_on_btrfs(int fd) {
    struct statfs info;
    if (fstatfs(fd, &info) != 0) return -1;
    return info.f_type == BTRFS_SUPER_MAGIC;
}

int bastion_path_on_btrfs(const char *path) {
    struct statfs info;
    if (statfs(path, &info) != 0) return -1;
    return info.f_type == BTRFS_SUPER_MAGIC;
}
