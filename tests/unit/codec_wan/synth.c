/* SPDX-License-Identifier: MIT */
/* Synthetic QEMU precopy streams (see synth.h); framing follows shared/reference §1-§2. */
#include <stdlib.h>
#include <string.h>
#include "synth.h"

#define PS 4096

typedef struct {
	uint8_t *b;
	size_t len, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t nc = b->cap ? b->cap : 1 << 20;
		while (nc < b->len + n)
			nc *= 2;
		b->b = realloc(b->b, nc);
		b->cap = nc;
	}
	memcpy(b->b + b->len, p, n);
	b->len += n;
}
static void u8(buf *b, uint8_t v) { put(b, &v, 1); }
static void be32(buf *b, uint32_t v)
{
	uint8_t x[4] = { v >> 24, v >> 16, v >> 8, v };
	put(b, x, 4);
}
static void be64(buf *b, uint64_t v)
{
	be32(b, (uint32_t)(v >> 32));
	be32(b, (uint32_t)v);
}
static void str8(buf *b, const char *s)
{
	u8(b, (uint8_t)strlen(s));
	put(b, s, strlen(s));
}

void synth_default(synth_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->image_seed = 1;
	c->vm_seed = 1;
	c->pages = 2048;
	c->rounds = 3;
	c->dirty_frac = 0.05;
	c->edit_bytes = 16;
	c->zero_frac = 0.2;
	c->random_frac = 0.1;
	c->vm_edit_frac = 0.3;
	c->device_bytes = 20000;
}

static const char *const words[] = {
	"the", "kernel", "page", "memory", "migration", "buffer", "struct", "return", "static", "int",
	"void", "const", "error", "device", "guest", "host", "network", "value", "config", "stream",
};

/* 64-byte objects as in a kernel slab: a counter, two list heads pointing at themselves (direct-map
 * addresses of where the page sits), a pointer to the next object and a constant text pointer. */
static void pointer_page(uint64_t *s, uint64_t phys, uint8_t *p)
{
	const uint64_t dmap = 0xffff888000000000ull;
	for (size_t o = 0; o < PS; o += 64) {
		uint64_t self = dmap + phys + o, w[8] = {
			synth_rand(s) % 1000, self + 8, self + 8, self + 24, self + 24,
			o + 64 < PS ? self + 64 : 0, 0xffffffff81a3c4e0ull, 0 };
		memcpy(p + o, w, sizeof(w));
	}
}

/* Image page i at guest-physical phys: zero, random (per VM: keys, caches), binary, kernel objects or
 * text-like (per image). */
static void image_page(const synth_cfg *c, uint32_t i, uint64_t phys, uint8_t *p)
{
	uint64_t s = c->image_seed * 0x100000001B3ull + i;
	double cls = (double)(synth_rand(&s) >> 11) / 9007199254740992.0;
	if (cls >= 1.0 - c->pointer_frac) {
		pointer_page(&s, phys, p);
		return;
	}
	if (cls < c->zero_frac) {
		memset(p, 0, PS);
		return;
	}
	if (cls < c->zero_frac + c->random_frac) {
		uint64_t r = c->vm_seed * 0x9E37ull + i * 7919ull + 3;
		for (size_t k = 0; k < PS; k += 8) {
			uint64_t v = synth_rand(&r);
			memcpy(p + k, &v, 8);
		}
		return;
	}
	if (cls < c->zero_frac + c->random_frac + c->binary_frac) {
		for (size_t k = 0; k < PS; k++)
			p[k] = (uint8_t)(0x40 + synth_rand(&s) % 100);
		return;
	}
	size_t k = 0;
	while (k < PS) {
		const char *w = words[synth_rand(&s) % 20];
		size_t n = strlen(w);
		for (size_t j = 0; j < n && k < PS; j++)
			p[k++] = (uint8_t)w[j];
		if (k < PS)
			p[k++] = (synth_rand(&s) & 7) ? ' ' : (uint8_t)('0' + synth_rand(&s) % 10);
	}
}

static void edit(uint8_t *p, uint32_t nbytes, uint64_t *r)
{
	if (!nbytes)
		return;
	uint32_t at = (uint32_t)(synth_rand(r) % (PS - nbytes));
	for (uint32_t j = 0; j < nbytes; j++)
		p[at + j] = (uint8_t)synth_rand(r);
}

static void page_record(buf *b, uint64_t addr, const uint8_t *p, int *first)
{
	int zero = 1;
	for (size_t k = 0; k < PS && zero; k++)
		zero = !p[k];
	/* most zero pages as ZERO records, some as zero-filled PAGEs (zero-page-detection=none) */
	if (zero && (addr / PS) % 4 == 0)
		zero = 0;
	uint64_t flags = zero ? 0x02 : 0x08;
	if (!*first)
		flags |= 0x20; /* CONTINUE: same block as the previous record */
	be64(b, addr | flags);
	if (*first)
		str8(b, "pc.ram");
	*first = 0;
	if (zero)
		u8(b, 0);
	else
		put(b, p, PS);
}

size_t synth_stream(const synth_cfg *c, uint8_t **out)
{
	buf b = { 0 };
	uint64_t r = c->vm_seed * 0xD6E8FEB86659FD93ull + 17;
	uint32_t n = c->pages;
	uint8_t *mem = malloc((size_t)n * PS);
	uint32_t *perm = malloc(n * sizeof(uint32_t));
	const uint32_t ram_sid = 2, dev_sid = 5;

	*out = NULL;
	if (!mem || !perm || n == 0)
		goto fail;
	/* physical layout: a VM-specific permutation of the image's pages */
	for (uint32_t i = 0; i < n; i++)
		perm[i] = i;
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(synth_rand(&r) % (i + 1)), t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *p = mem + (size_t)i * PS;
		image_page(c, perm[i], (uint64_t)i * PS, p);
		if ((double)(synth_rand(&r) >> 11) / 9007199254740992.0 < c->vm_edit_frac && p[0])
			edit(p, 8, &r);
	}

	be32(&b, 0x5145564D);
	be32(&b, 3);
	u8(&b, 0x07);
	be32(&b, 14);
	put(&b, "pc-i440fx-10.0", 14);
	/* setup: START ram with the block list */
	u8(&b, 0x01);
	be32(&b, ram_sid);
	str8(&b, "ram");
	be32(&b, 0);
	be32(&b, 4);
	be64(&b, ((uint64_t)n * PS) | 0x04);
	str8(&b, "pc.ram");
	be64(&b, (uint64_t)n * PS);
	be64(&b, 0x10);
	u8(&b, 0x7E);
	be32(&b, ram_sid);

	int first = 1;
	for (uint32_t round = 0; round <= c->rounds; round++) {
		uint32_t sent = 0;
		for (uint32_t i = 0; i < n; i++) {
			int send = round == 0 || (double)(synth_rand(&r) >> 11) / 9007199254740992.0 < c->dirty_frac;
			if (!send)
				continue;
			uint8_t *p = mem + (size_t)i * PS;
			if (round > 0)
				edit(p, c->edit_bytes, &r);
			if (sent % 256 == 0) {
				if (sent) {
					be64(&b, 0x10);
					u8(&b, 0x7E);
					be32(&b, ram_sid);
				}
				u8(&b, 0x02); /* PART */
				be32(&b, ram_sid);
			}
			page_record(&b, (uint64_t)i * PS, p, &first);
			sent++;
		}
		if (sent) {
			be64(&b, 0x10);
			u8(&b, 0x7E);
			be32(&b, ram_sid);
		}
	}
	/* stop-and-copy: END ram (empty), a device, EOF, vmdesc */
	u8(&b, 0x03);
	be32(&b, ram_sid);
	be64(&b, 0x10);
	u8(&b, 0x7E);
	be32(&b, ram_sid);
	u8(&b, 0x04);
	be32(&b, dev_sid);
	str8(&b, "timer");
	be32(&b, 0);
	be32(&b, 2);
	for (uint32_t i = 0; i < c->device_bytes; i++)
		u8(&b, (uint8_t)(synth_rand(&r) & 0x3F));
	u8(&b, 0x7E);
	be32(&b, dev_sid);
	u8(&b, 0x00);
	const char *json = "{\"page_size\":4096,\"devices\":[{\"name\":\"timer\"}]}";
	u8(&b, 0x06);
	be32(&b, (uint32_t)strlen(json));
	put(&b, json, strlen(json));
	free(mem);
	free(perm);
	*out = b.b;
	return b.len;
fail:
	free(mem);
	free(perm);
	free(b.b);
	return 0;
}
