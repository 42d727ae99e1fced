/* SPDX-License-Identifier: MIT */
/* Small state files: read whole and bounded, replaced by write + fsync + rename + directory fsync. */
#include "gateway/base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int lh_file_read(const char *dir, const char *name, size_t max, char **text, size_t *len, char *err,
		 size_t errlen)
{
	char path[4200];
	struct stat st;
	int fd, rc = 0;

	*text = NULL;
	*len = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = -EINVAL;
	else if ((size_t)st.st_size > max)
		rc = -EFBIG;
	if (rc) {
		snprintf(err, errlen, "%s: %s", path, rc == -EINVAL ? "not a regular file" :
			 rc == -EFBIG ? "larger than any file this writes" : strerror(-rc));
		close(fd);
		return rc;
	}
	char *p = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (p && got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!p || got != (size_t)st.st_size) {
		snprintf(err, errlen, "%s: %s", path, p ? "cannot read it whole" : "out of memory");
		free(p);
		return p ? -EIO : -ENOMEM;
	}
	p[got] = 0;
	*text = p;
	*len = got;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int lh_file_replace(const char *dir, const char *name, const void *data, size_t len, char *err, size_t errlen)
{
	char tmp[4200], path[4200];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.new", dir, name);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
		return rc;
	}
	/* a short write (full disk) leaves only the temporary file, never a partial state file */
	if ((rc = write_all(fd, data, len)) < 0 || (fsync(fd) < 0 && (rc = -errno))) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(-rc));
		close(fd);
		unlink(tmp);
		return rc;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		rc = -errno;
		snprintf(err, errlen, "rename to %s: %s", path, strerror(-rc));
		unlink(tmp);
		return rc;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return 0;
	rc = fsync(fd) < 0 ? -errno : 0;
	if (rc)
		snprintf(err, errlen, "%s: fsync: %s", dir, strerror(-rc));
	close(fd);
	return rc;
}
