/* SPDX-License-Identifier: MIT */
/* Synthetic vectors: every record kind, 7.2 and 10.x quirks, multifd, postcopy commands. */
#include <stdlib.h>
#include <string.h>
#include "vecgen.h"

#define PS 4096u

void vb_free(vbuf *b) { free(b->data); memset(b, 0, sizeof(*b)); }

void vb_bytes(vbuf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		b->data = realloc(b->data, cap);
		if (!b->data)
			abort();
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void vb_u8(vbuf *b, uint8_t v) { vb_bytes(b, &v, 1); }
void vb_be16(vbuf *b, uint16_t v) { uint8_t x[2] = { v >> 8, (uint8_t)v }; vb_bytes(b, x, 2); }
void vb_be32(vbuf *b, uint32_t v) { vb_be16(b, v >> 16); vb_be16(b, (uint16_t)v); }
void vb_be64(vbuf *b, uint64_t v) { vb_be32(b, v >> 32); vb_be32(b, (uint32_t)v); }
void vb_str8(vbuf *b, const char *s) { vb_u8(b, (uint8_t)strlen(s)); vb_bytes(b, s, strlen(s)); }

static uint32_t rng = 12345;
static uint8_t rnd8(void) { rng = rng * 1103515245 + 12345; return (uint8_t)(rng >> 16); }

static void page(vbuf *b, int kind)
{
	uint8_t p[PS];
	for (unsigned i = 0; i < PS; i++)
		p[i] = kind == 0 ? 0 : kind == 1 ? (uint8_t)("migration "[i % 10]) : rnd8();
	/* sprinkle the bytes the tail scanner looks for */
	p[100] = 0x7E;
	vb_bytes(b, p, PS);
}

static void header(vbuf *b, const char *machine)
{
	vb_be32(b, 0x5145564D);
	vb_be32(b, 3);
	vb_u8(b, 0x07);
	vb_be32(b, (uint32_t)strlen(machine));
	vb_bytes(b, machine, strlen(machine));
}

static void section_full_hdr(vbuf *b, uint8_t type, uint32_t id, const char *name, uint32_t inst, uint32_t ver)
{
	vb_u8(b, type);
	vb_be32(b, id);
	vb_str8(b, name);
	vb_be32(b, inst);
	vb_be32(b, ver);
}

static void footer(vbuf *b, uint32_t id) { vb_u8(b, 0x7E); vb_be32(b, id); }

static void command(vbuf *b, uint16_t cmd, const void *payload, uint16_t len)
{
	vb_u8(b, 0x08);
	vb_be16(b, cmd);
	vb_be16(b, len);
	vb_bytes(b, payload, len);
}

static void ping(vbuf *b, uint32_t v)
{
	uint8_t x[4] = { v >> 24, v >> 16, v >> 8, (uint8_t)v };
	command(b, 2, x, 4);
}

static void ram_rec(vbuf *b, uint64_t addr, uint32_t flags, const char *block)
{
	vb_be64(b, addr | flags);
	if (!(flags & LH_RAM_CONTINUE))
		vb_str8(b, block);
}

static void mem_size(vbuf *b, int ignore_shared, int hugepages)
{
	uint64_t ram = 64ull << 20, rom = 128 << 10, huge = 4ull << 20;
	vb_be64(b, (ram + rom + (hugepages ? huge : 0)) | LH_RAM_MEM_SIZE);
	vb_str8(b, "pc.ram");
	vb_be64(b, ram);
	if (ignore_shared)
		vb_be64(b, 0);
	vb_str8(b, "pc.rom");
	vb_be64(b, rom);
	if (ignore_shared)
		vb_be64(b, 0xfffe0000);
	if (hugepages) {
		vb_str8(b, "mem-huge");
		vb_be64(b, huge);
		vb_be64(b, 2 << 20); /* page size of the last block: a power of two in the summary */
	}
}

static void device_full(vbuf *b, uint32_t id, const char *name, size_t n)
{
	section_full_hdr(b, LH_SEC_FULL, id, name, 0, 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = rnd8();
		vb_u8(b, i % 17 == 3 ? 0x7E : c); /* footer-like bytes inside device data */
	}
	/* a false footer: right id, implausible next byte */
	footer(b, id);
	vb_u8(b, 0x99);
	footer(b, id);
}

static void vmdesc(vbuf *b)
{
	const char *j = "{\"page_size\":4096,\"devices\":[]}";
	vb_u8(b, 0x00);
	vb_u8(b, 0x06);
	vb_be32(b, (uint32_t)strlen(j));
	vb_bytes(b, j, strlen(j));
}

/* QEMU 10.0 precopy: every RAM record kind, commands, flush mid-section, device state, vmdesc. */
static void v_precopy_10(vbuf *b)
{
	uint8_t xb[] = { 0x10, 0x03, 'a', 'b', 'c', 0x20, 0x01, 'z' };
	uint8_t zl[] = { 0x78, 0x9c, 0x63, 0x60, 0x18, 0x05, 0x00, 0x00 };

	header(b, "pc-q35-10.0");
	command(b, 1, NULL, 0);
	ping(b, 1);
	section_full_hdr(b, LH_SEC_START, 2, "ram", 0, 4);
	mem_size(b, 0, 0);
	vb_be64(b, LH_RAM_MULTIFD_FLUSH);
	vb_be64(b, LH_RAM_EOS);
	footer(b, 2);
	vb_u8(b, LH_SEC_PART);
	vb_be32(b, 2);
	ram_rec(b, 0, LH_RAM_PAGE, "pc.ram");
	page(b, 1);
	ram_rec(b, PS, LH_RAM_ZERO | LH_RAM_CONTINUE, NULL);
	vb_u8(b, 0);
	ram_rec(b, 2 * PS, LH_RAM_PAGE | LH_RAM_CONTINUE, NULL);
	page(b, 2);
	ram_rec(b, 0, LH_RAM_XBZRLE | LH_RAM_CONTINUE, NULL);
	vb_u8(b, 1);
	vb_be16(b, sizeof(xb));
	vb_bytes(b, xb, sizeof(xb));
	vb_be64(b, LH_RAM_MULTIFD_FLUSH);
	ram_rec(b, PS, LH_RAM_COMPRESS, "pc.rom");
	vb_be32(b, sizeof(zl));
	vb_bytes(b, zl, sizeof(zl));
	ram_rec(b, 0, LH_RAM_PAGE, "pc.ram");
	page(b, 0);
	vb_be64(b, LH_RAM_EOS);
	footer(b, 2);
	/* an empty PART is legal */
	vb_u8(b, LH_SEC_PART);
	vb_be32(b, 2);
	vb_be64(b, LH_RAM_EOS);
	footer(b, 2);
	command(b, 11, NULL, 0);
	vb_u8(b, LH_SEC_END);
	vb_be32(b, 2);
	ram_rec(b, 3 * PS, LH_RAM_PAGE | LH_RAM_CONTINUE, NULL); /* CONTINUE across sections */
	page(b, 1);
	vb_be64(b, LH_RAM_EOS);
	footer(b, 2);
	device_full(b, 3, "timer", 40);
	device_full(b, 7, "cpu", 300);
	device_full(b, 41, "0000:00:02.0/e1000", 2000);
	vb_u8(b, 0x04); /* globalstate */
	vb_be32(b, 44);
	vb_str8(b, "globalstate");
	vb_be32(b, 0);
	vb_be32(b, 1);
	vb_bytes(b, "\x00\x00\x00\x08running", 12);
	footer(b, 44);
	vmdesc(b);
}

/* QEMU 7.2 precopy: no command 11, no FLUSH; configuration with capabilities (x-ignore-shared). */
static void v_precopy_72_ignore_shared(vbuf *b)
{
	header(b, "pc-q35-7.2");
	vb_u8(b, 0x05);
	vb_str8(b, "configuration/capabilities");
	vb_be32(b, 1);
	vb_be32(b, 1);
	vb_str8(b, "x-ignore-shared");
	section_full_hdr(b, LH_SEC_START, 2, "ram", 0, 4);
	mem_size(b, 1, 0);
	vb_be64(b, LH_RAM_EOS);
	footer(b, 2);
	vb_u8(b, LH_SEC_PART);
	vb_be32(b, 2);
	for (int i = 0; i < 8; i++) {
		ram_rec(b, (uint64_t)i * PS, LH_RAM_PAGE | (i ? LH_RAM_CONTINUE : 0), "pc.ram");
		page(b, i & 1);
	}
	ram_rec(b, 8 * PS, LH_RAM_ZERO | LH_RAM_CONTINUE, NULL);
	vb_u8(b, 0x5A); /* 7.2 accepted non-zero fill bytes */
	vb_be64(b, LH_RAM_EOS);
	footer(b, 2);
	vb_u8(b, LH_SEC_END);
	vb_be32(b, 2);
	vb_be64(b, LH_RAM_EOS);
	footer(b, 2);
	device_full(b, 5, "apic", 77);
	vmdesc(b);
}

/* Configuration subsections: target-page-bits (ARM-like 4 KiB), uuid. */
static void v_config_subsections(vbuf *b)
{
	uint8_t uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

	header(b, "virt-10.0");
	vb_u8(b, 0x05);
	vb_str8(b, "configuration/target-page-bits");
	vb_be32(b, 1);
	vb_be32(b, 12);
	vb_u8(b, 0x05);
	vb_str8(b, "configuration/capabilities");
	vb_be32(b, 1);
	vb_be32(b, 0);
	vb_u8(b, 0x05);
	vb_str8(b, "configuration/uuid");
	vb_be32(b, 1);
	vb_bytes(b, uuid, 16);
	section_full_hdr(b, LH_SEC_START, 9, "ram", 0, 4);
	mem_size(b, 0, 0);
	vb_be64(b, LH_RAM_EOS);
	footer(b, 9);
	vb_u8(b, 0x00);
}

/* Postcopy: ADVISE(16) with huge pages, DISCARD, PACKAGED blob, RUN; no VMDESCRIPTION. */
static void v_postcopy(vbuf *b)
{
	uint8_t advise[16] = { 0, 0, 0, 0, 0, 0x20, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x10, 0 };
	uint8_t discard[64];
	size_t dl = 0;
	vbuf blob = { 0 };

	header(b, "pc-q35-10.0");
	command(b, 1, NULL, 0);
	ping(b, 1);
	command(b, 3, advise, 16); /* summary 0x201000: 2 MiB | 4 KiB */
	section_full_hdr(b, LH_SEC_START, 2, "ram", 0, 4);
	mem_size(b, 0, 1);
	vb_be64(b, LH_RAM_EOS);
	footer(b, 2);
	vb_u8(b, LH_SEC_PART);
	vb_be32(b, 2);
	ram_rec(b, 0, LH_RAM_PAGE, "mem-huge");
	page(b, 2);
	vb_be64(b, LH_RAM_EOS);
	footer(b, 2);
	command(b, 11, NULL, 0);
	discard[dl++] = 0;
	discard[dl++] = 6;
	memcpy(discard + dl, "pc.ram", 6);
	dl += 6;
	discard[dl++] = 0;
	for (int i = 0; i < 16; i++)
		discard[dl++] = (uint8_t)(i == 6 ? 0x10 : i == 14 ? 0x20 : 0);
	command(b, 6, discard, (uint16_t)dl);
	ping(b, 2);
	command(&blob, 4, NULL, 0);
	device_full(&blob, 3, "timer", 33);
	ping(&blob, 3);
	command(&blob, 5, NULL, 0);
	vb_u8(b, 0x08);
	vb_be16(b, 7);
	vb_be16(b, 4);
	vb_be32(b, (uint32_t)blob.len);
	vb_bytes(b, blob.data, blob.len);
	vb_free(&blob);
	ping(b, 4);
	vb_u8(b, LH_SEC_PART);
	vb_be32(b, 2);
	ram_rec(b, 5 * PS, LH_RAM_PAGE, "pc.ram");
	page(b, 1);
	ram_rec(b, 6 * PS, LH_RAM_ZERO | LH_RAM_CONTINUE, NULL);
	vb_u8(b, 0);
	vb_be64(b, LH_RAM_EOS);
	footer(b, 2);
	vb_u8(b, LH_SEC_END);
	vb_be32(b, 2);
	vb_be64(b, LH_RAM_EOS);
	footer(b, 2);
	vb_u8(b, 0x00);
}

/* Postcopy recovery: a main connection with no QEVM header, starting with RECV_BITMAP. */
static void v_recovery(vbuf *b)
{
	uint8_t rb[7] = { 6, 'p', 'c', '.', 'r', 'a', 'm' };
	command(b, 10, rb, sizeof(rb));
	command(b, 9, NULL, 0);
	/* RAM resumes in the section opened on the lost connection */
	vb_u8(b, LH_SEC_PART);
	vb_be32(b, 2);
	ram_rec(b, 11 * PS, LH_RAM_PAGE, "pc.ram");
	page(b, 1);
	vb_be64(b, LH_RAM_EOS);
	footer(b, 2);
	vb_u8(b, LH_SEC_END);
	vb_be32(b, 2);
	vb_be64(b, LH_RAM_EOS);
	footer(b, 2);
	vb_u8(b, 0x00);
}

static void mf_init(vbuf *b, uint8_t id)
{
	uint8_t x[64] = { 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1 };
	memset(x + 8, 0x5B, 16);
	x[24] = id;
	vb_bytes(b, x, 64);
}

static void mf_packet(vbuf *b, uint32_t flags, uint32_t normal, uint32_t zero, uint32_t next, uint64_t num,
		      const char *block, uint64_t stale)
{
	char name[256] = { 0 };
	vb_be32(b, 0x11223344);
	vb_be32(b, 1);
	vb_be32(b, flags);
	vb_be32(b, 128);
	vb_be32(b, normal);
	vb_be32(b, next);
	vb_be64(b, num);
	vb_be32(b, zero);
	for (int i = 0; i < 28; i++)
		vb_u8(b, 0);
	if (block)
		strcpy(name, block);
	vb_bytes(b, name, 256);
	for (uint32_t i = 0; i < 128; i++)
		vb_be64(b, i < normal + zero ? (uint64_t)(i * 3) * PS : stale ? stale + i * PS : 0);
	for (uint32_t i = 0; i < normal; i++)
		page(b, (int)(i % 3));
}

/* 7.2 multifd: stale offsets and next_packet_size in empty packets, SYNC packets carrying pages. */
static void v_multifd_72(vbuf *b)
{
	mf_init(b, 1);
	mf_packet(b, 0, 3, 0, 3 * PS, 1, "pc.ram", 0);
	mf_packet(b, 1, 0, 0, 151552, 2, "pc.ram", 0x12340000); /* stale size, block, slots */
	mf_packet(b, 1, 2, 0, 2 * PS, 3, "pc.ram", 0x77770000); /* SYNC with pages */
	mf_packet(b, 0, 0, 0, 0, 4, "", 0);
}

/* 10.x multifd: zero-page lists, device-state packet, SYNC. */
static void v_multifd_10(vbuf *b)
{
	char idstr[256] = "0000:00:05.0/vfio";
	mf_init(b, 0);
	mf_packet(b, 0, 2, 5, 2 * PS, 10, "pc.ram", 0);
	mf_packet(b, 0, 0, 4, 0, 11, "pc.ram", 0);
	vb_be32(b, 0x11223344);
	vb_be32(b, 1);
	vb_be32(b, 0x40);
	vb_bytes(b, idstr, 256);
	vb_be32(b, 0);
	vb_be32(b, 300);
	for (int i = 0; i < 300; i++)
		vb_u8(b, rnd8());
	mf_packet(b, 1, 0, 0, 0, 12, "", 0);
}

/* Postcopy preempt channel: bare RAM records. */
static void v_preempt(vbuf *b)
{
	ram_rec(b, 7 * PS, LH_RAM_PAGE, "pc.ram");
	page(b, 2);
	ram_rec(b, 9 * PS, LH_RAM_PAGE | LH_RAM_CONTINUE, NULL);
	page(b, 1);
	vb_be64(b, LH_RAM_EOS); /* <= 7.2 mode ends with EOS */
}

/* A connection that is not QEMU migration at all. */
static void v_unknown(vbuf *b) { vb_bytes(b, "GET / HTTP/1.1\r\n\r\n", 18); }

/* A non-RAM iterable before END ram (e.g. dirty-bitmap): everything after is opaque. */
static void v_unknown_iterable(vbuf *b)
{
	header(b, "pc-q35-10.0");
	section_full_hdr(b, LH_SEC_START, 2, "ram", 0, 4);
	mem_size(b, 0, 0);
	vb_be64(b, LH_RAM_EOS);
	footer(b, 2);
	section_full_hdr(b, LH_SEC_START, 3, "dirty-bitmap", 0, 1);
	for (int i = 0; i < 50; i++)
		vb_u8(b, rnd8());
	footer(b, 3);
	vb_u8(b, LH_SEC_PART);
	vb_be32(b, 2);
	ram_rec(b, 0, LH_RAM_PAGE, "pc.ram");
	page(b, 1);
	vb_be64(b, LH_RAM_EOS);
	footer(b, 2);
	vb_u8(b, LH_SEC_END);
	vb_be32(b, 2);
	vb_be64(b, LH_RAM_EOS);
	footer(b, 2);
	device_full(b, 4, "cpu", 64);
	vmdesc(b);
}

const vector_def lh_test_vectors[] = {
	{ "precopy-10.0", LH_CHAN_AUTO, 1, 1, v_precopy_10 },
	{ "precopy-7.2-ignore-shared", LH_CHAN_AUTO, 1, 1, v_precopy_72_ignore_shared },
	{ "config-subsections", LH_CHAN_AUTO, 1, 0, v_config_subsections },
	{ "postcopy-10.0", LH_CHAN_AUTO, 1, 0, v_postcopy },
	{ "recovery", LH_CHAN_AUTO, 1, 1, v_recovery },
	{ "multifd-7.2", LH_CHAN_AUTO, 0, 0, v_multifd_72 },
	{ "multifd-10.0", LH_CHAN_AUTO, 0, 0, v_multifd_10 },
	{ "preempt", LH_CHAN_PREEMPT, 0, 0, v_preempt },
	{ "unknown-channel", LH_CHAN_AUTO, 0, 1, v_unknown },
	{ "unknown-iterable", LH_CHAN_AUTO, 1, 1, v_unknown_iterable },
};
const size_t lh_test_vector_count = sizeof(lh_test_vectors) / sizeof(lh_test_vectors[0]);
