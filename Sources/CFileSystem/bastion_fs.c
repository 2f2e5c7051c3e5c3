#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "bastion_fs.h"

int bastion_o_noatime(void) { return O_NOATIME; }
int bastion_seek_data(void) { return SEEK_DATA; }
int bastion_seek_hole(void) { return SEEK_HOLE; }
unsigned long long bastion_makedev(unsigned int major, unsigned int minor) { return makedev(major, minor); }
unsigned int bastion_major(unsigned long long device) { return major(device); }
unsigned int bastion_minor(unsigned long long device) { return minor(device); }
void bastion_malloc_trim(void) { malloc_trim(0); }

ssize_t bastion_flistxattr(int fd, char *list, size_t size) { return flistxattr(fd, list, size); }
ssize_t bastion_fgetxattr(int fd, const char *name, void *value, size_t size) { return fgetxattr(fd, name, value, size); }
int bastion_fsetxattr(int fd, const char *name, const void *value, size_t size) { return fsetxattr(fd, name, value, size, 0); }
ssize_t bastion_llistxattr(const char *path, char *list, size_t size) { return llistxattr(path, list, size); }
ssize_t bastion_lgetxattr(const char *path, const char *name, void *value, size_t size) { return lgetxattr(path, name, value, size); }
int bastion_lsetxattr(const char *path, const char *name, const void *value, size_t size) { return lsetxattr(path, name, value, size, 0); }
