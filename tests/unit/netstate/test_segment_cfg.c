/* SPDX-License-Identifier: MIT */
/* Unit test: [segment NAME] values, completeness checks, MAC/IP text forms. */
#include "check.h"
#include "netstate/segment.h"

#include <errno.h>
#include <sys/socket.h>

static void test_segment(void)
{
	struct ns_segment_cfg c;
	struct ns_err e;

	ns_segment_cfg_init(&c, "blue");
	CHECK(c.port == 4789);
	CHECK(ns_segment_cfg_check(&c, &e) == -EINVAL && strstr(e.msg, "bridge"));
	CHECK(ns_segment_cfg_set(&c, "bridge", "br-lan", &e) == 0);
	CHECK(ns_segment_cfg_set(&c, "vni", "0", &e) == -EINVAL && strstr(e.msg, "vni"));
	CHECK(ns_segment_cfg_set(&c, "vni", "16777216", &e) == -EINVAL);
	CHECK(ns_segment_cfg_set(&c, "vni", "42x", &e) == -EINVAL);
	CHECK(ns_segment_cfg_set(&c, "vni", "42", &e) == 0 && c.vni == 42);
	CHECK(ns_segment_cfg_set(&c, "port", "65536", &e) == -EINVAL);
	CHECK(ns_segment_cfg_set(&c, "local", "198.18.0.300", &e) == -EINVAL && strstr(e.msg, "local"));
	CHECK(ns_segment_cfg_set(&c, "local", "198.18.0.1", &e) == 0);
	CHECK(ns_segment_cfg_check(&c, &e) == -EINVAL && strstr(e.msg, "remote"));
	CHECK(ns_segment_cfg_set(&c, "remote", "198.18.0.2", &e) == 0);
	CHECK(ns_segment_cfg_set(&c, "remote", "198.18.0.2", &e) == -EINVAL && strstr(e.msg, "twice"));
	CHECK(ns_segment_cfg_set(&c, "device", "a/b", &e) == -EINVAL);
	CHECK(ns_segment_cfg_set(&c, "device", "0123456789abcdef", &e) == -EINVAL);
	CHECK(ns_segment_cfg_set(&c, "colour", "red", &e) == -EINVAL && strstr(e.msg, "colour"));
	CHECK(ns_segment_cfg_check(&c, &e) == 0 && strcmp(c.dev, "lhvx42") == 0);
	CHECK(ns_segment_cfg_set(&c, "remote", "2001:db8::1", &e) == 0);
	CHECK(ns_segment_cfg_check(&c, &e) == -EINVAL && strstr(e.msg, "family"));
}

static void test_text_forms(void)
{
	uint8_t m[6];
	char buf[46];
	struct ns_ip ip;

	CHECK(ns_mac_parse("52:54:00:AB:cd:0f", m) == 0 && m[3] == 0xab && m[5] == 0x0f);
	CHECK(strcmp(ns_mac_fmt(m, buf), "52:54:00:ab:cd:0f") == 0);
	CHECK(ns_mac_parse("52:54:00:ab:cd", m) == -EINVAL);
	CHECK(ns_mac_parse("52:54:00:ab:cd:0g", m) == -EINVAL);
	CHECK(ns_mac_parse("52:54:00:ab:cd:0f:", m) == -EINVAL);
	CHECK(ns_mac_parse("52:54:00:ab: d:0f", m) == -EINVAL);
	CHECK(ns_ip_parse("fd00::10", &ip) == 0 && ip.family == AF_INET6 && ns_ip_len(&ip) == 16);
	CHECK(strcmp(ns_ip_fmt(&ip, buf, sizeof(buf)), "fd00::10") == 0);
	CHECK(ns_ip_parse("fd00::10::1", &ip) == -EINVAL);
}

int main(void)
{
	test_segment();
	test_text_forms();
	CHECK_DONE();
}
