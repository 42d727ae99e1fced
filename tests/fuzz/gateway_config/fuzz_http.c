/* SPDX-License-Identifier: MIT */
/* libFuzzer: the metrics listener's HTTP request-head classifier (network input). */
#include "../../../gateway/control/metrics.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > HTTP_MAX_REQUEST)
		size = HTTP_MAX_REQUEST; /* the server never holds more */
	int st = http_classify((const char *)data, size);
	if (st != 0 && st != 200 && st != 400 && st != 404 && st != 405 && st != 431)
		abort();
	if (st == 200 && (size < 4 || memcmp(data, "GET ", 4) != 0))
		abort();
	return 0;
}
