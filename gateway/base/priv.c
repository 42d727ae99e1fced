/* SPDX-License-Identifier: MIT */
/* Dropping root: setgroups/setgid/setuid with the capabilities kept across (libcap), then only LH_PRIV_KEPT. */
#include "gateway/base/priv.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

int lh_priv_lookup(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	struct passwd *pw;
	errno = 0;
	if (!(pw = getpwnam(user))) {
		snprintf(err, errlen, "user %s: %s", user, errno ? strerror(errno) : "no such user");
		return -ENOENT;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int lh_priv_drop(const char *user, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;
	cap_t caps = NULL;
	int rc;

	if ((rc = lh_priv_lookup(user, &uid, &gid, err, errlen)) < 0)
		return rc;
	if (uid == 0) {
		snprintf(err, errlen, "user %s is root: nothing to drop", user);
		return -EINVAL;
	}
	/* keep the permitted set across setuid; trimmed to LH_PRIV_KEPT right after */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "prctl(PR_SET_KEEPCAPS): %s", strerror(errno));
		return -errno;
	}
	if (initgroups(user, gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		rc = -errno;
		snprintf(err, errlen, "becoming %s (uid %u gid %u): %s", user, (unsigned)uid, (unsigned)gid, strerror(-rc));
		return rc;
	}
	if (!(caps = cap_from_text(LH_PRIV_KEPT "=ep")) || cap_set_proc(caps) < 0) {
		rc = -errno;
		snprintf(err, errlen, "keeping %s: %s", LH_PRIV_KEPT, strerror(-rc));
		cap_free(caps);
		return rc;
	}
	cap_free(caps);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	/* setuid cleared it: core dumps of a daemon holding keys stay off */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}
