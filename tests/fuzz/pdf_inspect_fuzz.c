/*
 * pdf_inspect_fuzz.c: the libFuzzer target of signer_pdf_inspect() (signer/inspect.c).
 *
 * The input is the PDF. Besides what ASan and UBSan catch (in our code; mupdf itself is the
 * system's, uninstrumented, but its reads and writes into our buffers are checked), every run
 * checks the contract of signer.h and aborts if it is broken: on success 1..SIGNER_PAGES_MAX
 * pages, each of a finite, positive size, on which a full-page rectangle passes
 * signer_rect_check(); on an error, a known error with a message and info zeroed. The memory
 * cap and the content budget keep every input bounded.
 */
#include "signer.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_PDF_BYTES_MAX (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static signer_pdf_info info;

static bool accepted_valid(void)
{
	if (info.page_count < 1 || info.page_count > SIGNER_PAGES_MAX)
		return false;
	for (uint32_t i = 0; i < info.page_count; i++) {
		const signer_page_size *p = &info.pages[i];
		signer_rect whole = {i, 0, 0, p->width_pt, p->height_pt};
		if (!isfinite(p->width_pt) || !isfinite(p->height_pt) || p->width_pt <= 0 || p->height_pt <= 0)
			return false;
		if (p->width_pt >= SIGNER_RECT_SIDE_PT_MIN && p->height_pt >= SIGNER_RECT_SIDE_PT_MIN &&
		    signer_rect_check(&info, &whole) != SIGNER_OK)
			return false;
	}
	signer_rect beyond = {info.page_count, 0, 0, 10, 10};
	return signer_rect_check(&info, &beyond) == SIGNER_ERR_RECT;
}

static bool refused_valid(signer_err err)
{
	static const uint8_t zeros[sizeof info] = {0};
	bool known = err == SIGNER_ERR_TOO_LARGE || err == SIGNER_ERR_NOT_PDF || err == SIGNER_ERR_ENCRYPTED ||
	             err == SIGNER_ERR_CORRUPT;
	return known && signer_last_error()[0] != '\0' && memcmp(&info, zeros, sizeof info) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	signer_err err = signer_pdf_inspect(data, size, FUZZ_PDF_BYTES_MAX, &info);
	if (err == SIGNER_OK ? !accepted_valid() : !refused_valid(err))
		abort();
	return 0;
}
