/* SPDX-License-Identifier: MIT */
/* Bad input: each malformed stream gets its own error code, at the right offset, with a reason. */
#include <stdio.h>
#include <string.h>
#include "vecgen.h"

#define PS 4096u

typedef void (*check_fn_t)(int, const char *, ...);

struct bad_case {
	const char *name;
	lh_channel_kind chan;
	int code;               /* expected lh_err (positive) */
	size_t (*build)(vbuf *b); /* returns the expected error offset */
};

static void hdr(vbuf *b)
{
	vb_be32(b, 0x5145564D);
	vb_be32(b, 3);
	vb_u8(b, 0x07);
	vb_be32(b, 11);
	vb_bytes(b, "pc-q35-10.0", 11);
}

static void ram_start(vbuf *b)
{
	hdr(b);
	vb_u8(b, 0x01);
	vb_be32(b, 2);
	vb_str8(b, "ram");
	vb_be32(b, 0);
	vb_be32(b, 4);
	vb_be64(b, (64ull << 20) | LH_RAM_MEM_SIZE);
	vb_str8(b, "pc.ram");
	vb_be64(b, 64ull << 20);
	vb_be64(b, LH_RAM_EOS);
	vb_u8(b, 0x7E);
	vb_be32(b, 2);
	vb_u8(b, 0x02);
	vb_be32(b, 2);
}

static size_t b_magic(vbuf *b) { vb_be32(b, 0x5145564E); vb_be32(b, 3); return 0; }
static size_t b_version(vbuf *b) { vb_be32(b, 0x5145564D); vb_be32(b, 2); return 4; }
static size_t b_config_len(vbuf *b)
{
	vb_be32(b, 0x5145564D);
	vb_be32(b, 3);
	vb_u8(b, 0x07);
	vb_be32(b, 0xFFFFFFFF);
	return 9;
}
static size_t b_section_type(vbuf *b) { hdr(b); size_t o = b->len; vb_u8(b, 0x09); return o; }
static size_t b_unknown_part(vbuf *b) { hdr(b); size_t o = b->len; vb_u8(b, 0x02); vb_be32(b, 77); return o + 1; }
static size_t b_ram_flags(vbuf *b) { ram_start(b); size_t o = b->len; vb_be64(b, 0x400); return o; }
static size_t b_ram_combo(vbuf *b) { ram_start(b); size_t o = b->len; vb_be64(b, LH_RAM_ZERO | LH_RAM_PAGE); return o; }
static size_t b_ram_hook(vbuf *b) { ram_start(b); size_t o = b->len; vb_be64(b, LH_RAM_HOOK); return o; }
static size_t b_continue_first(vbuf *b) { ram_start(b); size_t o = b->len; vb_be64(b, LH_RAM_PAGE | LH_RAM_CONTINUE); return o; }
static size_t b_unknown_block(vbuf *b)
{
	ram_start(b);
	vb_be64(b, LH_RAM_PAGE);
	size_t o = b->len;
	vb_str8(b, "evil");
	return o + 1;
}
static size_t b_offset_beyond(vbuf *b)
{
	ram_start(b);
	size_t o = b->len;
	vb_be64(b, (64ull << 20) | LH_RAM_ZERO);
	vb_str8(b, "pc.ram");
	vb_u8(b, 0);
	return o;
}
static size_t b_footer(vbuf *b)
{
	ram_start(b);
	vb_be64(b, LH_RAM_EOS);
	size_t o = b->len;
	vb_u8(b, 0x7E);
	vb_be32(b, 3);
	return o;
}
static size_t b_xbzrle_len(vbuf *b)
{
	ram_start(b);
	vb_be64(b, LH_RAM_XBZRLE);
	vb_str8(b, "pc.ram");
	vb_u8(b, 1);
	size_t o = b->len;
	vb_be16(b, 5000);
	return o;
}
static size_t b_compress_len(vbuf *b)
{
	ram_start(b);
	vb_be64(b, LH_RAM_COMPRESS);
	vb_str8(b, "pc.ram");
	size_t o = b->len;
	vb_be32(b, 0xFFFFFFFF);
	return o;
}
static size_t b_cmd_zero(vbuf *b) { hdr(b); size_t o = b->len; vb_u8(b, 8); vb_be16(b, 0); vb_be16(b, 0); return o; }
static size_t b_cmd_ping_len(vbuf *b) { hdr(b); size_t o = b->len; vb_u8(b, 8); vb_be16(b, 2); vb_be16(b, 5); return o; }
static size_t b_block_overrun(vbuf *b)
{
	hdr(b);
	vb_u8(b, 0x01);
	vb_be32(b, 2);
	vb_str8(b, "ram");
	vb_be32(b, 0);
	vb_be32(b, 4);
	vb_be64(b, (1ull << 20) | LH_RAM_MEM_SIZE);
	vb_str8(b, "pc.ram");
	size_t o = b->len;
	vb_be64(b, 2ull << 20);
	return o;
}
static size_t b_vmdesc_len(vbuf *b) { hdr(b); vb_u8(b, 0); size_t o = b->len; vb_u8(b, 6); vb_be32(b, 0xFFFFFFFF); return o + 1; }
static size_t b_truncated_page(vbuf *b)
{
	ram_start(b);
	size_t o = b->len;
	vb_be64(b, LH_RAM_PAGE);
	vb_str8(b, "pc.ram");
	for (int i = 0; i < 100; i++)
		vb_u8(b, 1);
	return o;
}

static void mf_hdr(vbuf *b, uint32_t flags, uint32_t alloc, uint32_t normal, uint32_t next, const char *block,
		   uint64_t off0)
{
	uint8_t init[64] = { 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1 };
	char name[256];
	vb_bytes(b, init, 64);
	vb_be32(b, 0x11223344);
	vb_be32(b, 1);
	vb_be32(b, flags);
	vb_be32(b, alloc);
	vb_be32(b, normal);
	vb_be32(b, next);
	vb_be64(b, 1);
	vb_be32(b, 0);
	for (int i = 0; i < 28; i++)
		vb_u8(b, 0);
	memset(name, block ? 0 : 'A', 256);
	if (block)
		strcpy(name, block);
	vb_bytes(b, name, 256);
	for (int i = 0; i < 128; i++)
		vb_be64(b, i == 0 ? off0 : 0);
}
static size_t b_mf_alloc(vbuf *b) { mf_hdr(b, 0, 1000, 1, PS, "pc.ram", 0); return 64 + 12; }
static size_t b_mf_next(vbuf *b) { mf_hdr(b, 0, 128, 1, 3, "pc.ram", 0); return 64 + 20; }
static size_t b_mf_flags(vbuf *b) { mf_hdr(b, 0x100, 128, 1, PS, "pc.ram", 0); return 64 + 8; }
static size_t b_mf_name(vbuf *b) { mf_hdr(b, 0, 128, 1, PS, NULL, 0); return 64 + 64; }
static size_t b_mf_align(vbuf *b) { mf_hdr(b, 0, 128, 1, PS, "pc.ram", 17); return 64 + 320; }
static size_t b_mf_version(vbuf *b)
{
	uint8_t init[64] = { 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 9 };
	vb_bytes(b, init, 64);
	return 4;
}

static const struct bad_case cases[] = {
	{ "wrong file magic", LH_CHAN_MAIN, LH_E_BAD_MAGIC, b_magic },
	{ "obsolete version 2", LH_CHAN_AUTO, LH_E_BAD_VERSION, b_version },
	{ "absurd machine-name length", LH_CHAN_AUTO, LH_E_BAD_CONFIG, b_config_len },
	{ "unknown section type", LH_CHAN_AUTO, LH_E_BAD_SECTION, b_section_type },
	{ "PART of unknown section", LH_CHAN_AUTO, LH_E_BAD_SECTION, b_unknown_part },
	{ "unknown RAM flag bit", LH_CHAN_AUTO, LH_E_BAD_RAM_FLAGS, b_ram_flags },
	{ "ZERO|PAGE combination", LH_CHAN_AUTO, LH_E_BAD_RAM_FLAGS, b_ram_combo },
	{ "RDMA hook on TCP", LH_CHAN_AUTO, LH_E_UNSUPPORTED, b_ram_hook },
	{ "CONTINUE with no block", LH_CHAN_AUTO, LH_E_BAD_RAM_BLOCK, b_continue_first },
	{ "record for unlisted block", LH_CHAN_AUTO, LH_E_BAD_RAM_BLOCK, b_unknown_block },
	{ "offset beyond block", LH_CHAN_AUTO, LH_E_BAD_RAM_BLOCK, b_offset_beyond },
	{ "footer of another section", LH_CHAN_AUTO, LH_E_BAD_FOOTER, b_footer },
	{ "XBZRLE longer than a page", LH_CHAN_AUTO, LH_E_BAD_LENGTH, b_xbzrle_len },
	{ "4 GiB compressed page", LH_CHAN_AUTO, LH_E_BAD_LENGTH, b_compress_len },
	{ "command 0", LH_CHAN_AUTO, LH_E_BAD_COMMAND, b_cmd_zero },
	{ "PING of 5 bytes", LH_CHAN_AUTO, LH_E_BAD_COMMAND, b_cmd_ping_len },
	{ "block overruns MEM_SIZE", LH_CHAN_AUTO, LH_E_BAD_LENGTH, b_block_overrun },
	{ "4 GiB VMDESCRIPTION", LH_CHAN_AUTO, LH_E_BAD_LENGTH, b_vmdesc_len },
	{ "stream ends inside a page", LH_CHAN_AUTO, LH_E_TRUNCATED, b_truncated_page },
	{ "multifd pages_alloc 1000", LH_CHAN_AUTO, LH_E_BAD_MULTIFD, b_mf_alloc },
	{ "multifd lying payload size", LH_CHAN_AUTO, LH_E_BAD_MULTIFD, b_mf_next },
	{ "multifd unknown flag", LH_CHAN_AUTO, LH_E_BAD_MULTIFD, b_mf_flags },
	{ "multifd unterminated block", LH_CHAN_AUTO, LH_E_BAD_MULTIFD, b_mf_name },
	{ "multifd unaligned offset", LH_CHAN_AUTO, LH_E_BAD_MULTIFD, b_mf_align },
	{ "multifd version 9", LH_CHAN_AUTO, LH_E_BAD_VERSION, b_mf_version },
};

static int count_events(void *opaque, const lh_event *ev)
{
	(void)ev;
	return ++*(int *)opaque >= 3; /* stop at the third event */
}

void run_bad_input_tests(check_fn_t check)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		/* the same error whatever the chunking */
		for (int mode = 0; mode < 2; mode++) {
			vbuf b = { 0 };
			size_t off = c->build(&b);
			lh_parser *p = lh_parser_create();
			const lh_parse_error *e;
			int r = 0;

			lh_parser_set_param(p, LH_P_CHANNEL, c->chan);
			if (mode == 0)
				r = lh_parser_feed(p, b.data, b.len, NULL, NULL);
			else
				for (size_t k = 0; k < b.len && r == 0; k++)
					r = lh_parser_feed(p, b.data + k, 1, NULL, NULL);
			if (r == 0)
				r = lh_parser_finish(p, NULL, NULL);
			e = lh_parser_error(p);
			check(r == -c->code && e->code == r, "%s (mode %d): got %s, expected %s", c->name, mode,
			      lh_err_name(r), lh_err_name(c->code));
			check(e->offset == off, "%s (mode %d): error at offset %llu, expected %zu (%s)", c->name, mode,
			      (unsigned long long)e->offset, off, e->detail);
			check(e->detail[0] != 0, "%s: no detail", c->name);
			/* sticky: a parser in error stays in error */
			check(lh_parser_feed(p, "x", 1, NULL, NULL) == r, "%s: error is not sticky", c->name);
			if (mode == 0)
				printf("ok  bad input: %-30s -> %s at %zu: %s\n", c->name, lh_err_name(r), off, e->detail);
			lh_parser_free(p);
			vb_free(&b);
		}
	}
	/* The callback can stop the parser. */
	{
		vbuf b = { 0 };
		int n = 0;
		lh_parser *p = lh_parser_create();
		lh_test_vectors[0].build(&b);
		check(lh_parser_feed(p, b.data, b.len, count_events, &n) == -LH_E_ABORTED && n == 3,
		      "callback abort not honoured");
		lh_parser_free(p);
		vb_free(&b);
	}
	/* Parameters are range-checked. */
	{
		lh_parser *p = lh_parser_create();
		check(lh_parser_set_param(p, LH_P_PAGE_SIZE, 3000) == -LH_E_PARAM, "page size 3000 accepted");
		check(lh_parser_set_param(p, LH_P_CHANNEL, 9) == -LH_E_PARAM, "channel 9 accepted");
		check(lh_parser_set_param(p, LH_P_PAGE_SIZE, 65536) == 0, "page size 64 KiB refused");
		lh_parser_free(p);
	}
}
