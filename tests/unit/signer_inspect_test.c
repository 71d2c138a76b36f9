/*
 * signer_inspect_test: signer_pdf_inspect() on real PDFs made by mupdf (sizes as displayed,
 * rotation, the page limit's edge) and on hostile input, each with its typed error and without
 * a byte printed by mupdf: empty, a PNG, random bytes, a header and noise, a truncated file,
 * shifted offsets, encrypted files made by qpdf, over the size limit, no page, a looping page
 * tree, a decompression bomb, an annotation whose xref entry is wrong. Then signer_rect_check()'s
 * rules, the memory cap itself, and many threads inspecting at once.
 */
#include "signer_util.h"

#include "internal.h"
#include "signer.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <zlib.h>

#define BOMB_BYTES        (300u * 1024u * 1024u) /* decodes past SIGNER_CONTENT_BYTES_MAX */
#define THREADS           8
#define ROUNDS_PER_THREAD 10

static signer_pdf_info info; /* 16 KiB: not on the stack */

/* ----- documents written by hand, for the shapes mupdf will not write ----- */

typedef struct raw_object {
	const uint8_t *data;
	size_t bytes;
} raw_object;

/* A PDF whose object i + 1 is objects[i], with a correct xref and trailer. malloc'd. */
static uint8_t *raw_pdf(const raw_object *objects, int count, const char *trailer_extra, size_t *bytes)
{
	size_t capacity = 4096 + (size_t)count * 64;
	for (int i = 0; i < count; i++)
		capacity += objects[i].bytes;
	uint8_t *pdf = malloc(capacity);
	size_t *offsets = malloc(sizeof *offsets * (size_t)(count + 1));
	if (!pdf || !offsets) {
		free(pdf);
		free(offsets);
		return NULL;
	}
	size_t n = (size_t)snprintf((char *)pdf, capacity, "%%PDF-1.7\n%%\xe2\xe3\xcf\xd3\n");
	for (int i = 0; i < count; i++) {
		offsets[i] = n;
		n += (size_t)snprintf((char *)pdf + n, capacity - n, "%d 0 obj\n", i + 1);
		memcpy(pdf + n, objects[i].data, objects[i].bytes);
		n += objects[i].bytes;
		n += (size_t)snprintf((char *)pdf + n, capacity - n, "\nendobj\n");
	}
	size_t xref = n;
	n += (size_t)snprintf((char *)pdf + n, capacity - n, "xref\n0 %d\n0000000000 65535 f \n", count + 1);
	for (int i = 0; i < count; i++)
		n += (size_t)snprintf((char *)pdf + n, capacity - n, "%010zu 00000 n \n", offsets[i]);
	n += (size_t)snprintf((char *)pdf + n, capacity - n,
	                      "trailer\n<</Size %d/Root 1 0 R%s>>\nstartxref\n%zu\n%%%%EOF\n", count + 1,
	                      trailer_extra ? trailer_extra : "", xref);
	free(offsets);
	*bytes = n;
	return pdf;
}

#define OBJ(s) ((raw_object){(const uint8_t *)(s), sizeof(s) - 1})

/* count pages of size A4, no content. */
static uint8_t *pages_pdf(int count, size_t *bytes)
{
	raw_object *objects = calloc((size_t)count + 2, sizeof *objects);
	char *kids = malloc((size_t)count * 16 + 64), *page = "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>";
	if (!objects || !kids) {
		free(objects);
		free(kids);
		return NULL;
	}
	size_t n = (size_t)sprintf(kids, "<</Type/Pages/Count %d/Kids[", count);
	for (int i = 0; i < count; i++) {
		n += (size_t)sprintf(kids + n, "%d 0 R ", i + 3);
		objects[i + 2] = (raw_object){(const uint8_t *)page, strlen(page)};
	}
	sprintf(kids + n, "]>>");
	objects[0] = OBJ("<</Type/Catalog/Pages 2 0 R>>");
	objects[1] = (raw_object){(const uint8_t *)kids, strlen(kids)};
	uint8_t *pdf = raw_pdf(objects, count + 2, NULL, bytes);
	free(kids);
	free(objects);
	return pdf;
}

/* zlib of data, malloc'd. */
static uint8_t *deflate_bytes(const uint8_t *data, size_t bytes, size_t zero_bytes, size_t *out_bytes)
{
	z_stream z = {0};
	if (deflateInit(&z, 9) != Z_OK)
		return NULL;
	size_t capacity = (data ? bytes : zero_bytes) / 256 + 4096, n = 0;
	uint8_t *out = malloc(capacity);
	static const uint8_t zeros[65536];
	size_t fed = 0, total = data ? bytes : zero_bytes;
	int rc = Z_OK;
	while (out && rc != Z_STREAM_END) {
		if (z.avail_in == 0 && fed < total) {
			size_t chunk = total - fed < sizeof zeros ? total - fed : sizeof zeros;
			z.next_in = (Bytef *)(data ? data + fed : zeros);
			z.avail_in = (uInt)chunk;
			fed += chunk;
		}
		if (n == capacity && !(out = grow_twice(out, &capacity)))
			break;
		z.next_out = out + n;
		z.avail_out = (uInt)(capacity - n);
		rc = deflate(&z, fed == total ? Z_FINISH : Z_NO_FLUSH);
		n = capacity - z.avail_out;
	}
	deflateEnd(&z);
	*out_bytes = n;
	return out;
}

/* One page whose content is BOMB_BYTES of zeros deflated twice: a few KiB on disk. */
static uint8_t *bomb_pdf(size_t *bytes)
{
	size_t once_bytes = 0, twice_bytes = 0;
	uint8_t *once = deflate_bytes(NULL, 0, BOMB_BYTES, &once_bytes);
	uint8_t *twice = once ? deflate_bytes(once, once_bytes, 0, &twice_bytes) : NULL;
	free(once);
	if (!twice)
		return NULL;
	char head[128];
	int head_bytes =
	    snprintf(head, sizeof head, "<</Length %zu/Filter[/FlateDecode/FlateDecode]>>\nstream\n", twice_bytes);
	size_t stream_bytes = (size_t)head_bytes + twice_bytes + sizeof "\nendstream" - 1;
	uint8_t *stream = malloc(stream_bytes);
	if (!stream) {
		free(twice);
		return NULL;
	}
	memcpy(stream, head, (size_t)head_bytes);
	memcpy(stream + head_bytes, twice, twice_bytes);
	memcpy(stream + head_bytes + twice_bytes, "\nendstream", sizeof "\nendstream" - 1);
	free(twice);
	raw_object objects[] = {OBJ("<</Type/Catalog/Pages 2 0 R>>"),
	                        OBJ("<</Type/Pages/Count 1/Kids[3 0 R]>>"),
	                        OBJ("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>"),
	                        {stream, stream_bytes}};
	uint8_t *pdf = raw_pdf(objects, 4, NULL, bytes);
	free(stream);
	return pdf;
}

/* One page whose inline /Resources holds an array nested depth deep ("[[[...]]]"). mupdf's
 * parser gives up past its own nesting limit and loads the page object as null: the page still
 * has a (default) box, but no dictionary a signature could be added to (issue 10, defect 5). */
static uint8_t *nested_resources_pdf(size_t depth, size_t *bytes)
{
	static const char head[] = "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</X ";
	static const char tail[] = ">>>>";
	size_t page_bytes = sizeof head - 1 + 2 * depth + sizeof tail - 1;
	uint8_t *page = malloc(page_bytes);
	if (!page)
		return NULL;
	memcpy(page, head, sizeof head - 1);
	memset(page + sizeof head - 1, '[', depth);
	memset(page + sizeof head - 1 + depth, ']', depth);
	memcpy(page + sizeof head - 1 + 2 * depth, tail, sizeof tail - 1);
	raw_object objects[] = {
	    OBJ("<</Type/Catalog/Pages 2 0 R>>"), OBJ("<</Type/Pages/Count 1/Kids[3 0 R]>>"), {page, page_bytes}};
	uint8_t *pdf = raw_pdf(objects, 3, NULL, bytes);
	free(page);
	return pdf;
}

/* ----- the cases ----- */

static signer_err inspect(const uint8_t *pdf, size_t bytes)
{
	return signer_pdf_inspect(pdf, bytes, 1u << 30, &info);
}

#define EXPECT(pdf, bytes, expected, what)                                                                             \
	do {                                                                                                           \
		signer_err got_ = inspect(pdf, bytes);                                                                 \
		CHECK(got_ == (expected), "%s: %s (%s), expected %s", what, signer_strerror(got_),                     \
		      signer_last_error(), signer_strerror(expected));                                                 \
		CHECK(got_ == SIGNER_OK || info.page_count == 0, "%s: info not zeroed on error", what);                \
	} while (0)

/* The pages of the documents mupdf writes for these tests: A4, A4 landscape, A4 turned 90°. */
static const test_page mixed_pages[] = {
    {A4_WIDTH_PT, A4_HEIGHT_PT, 0}, {A4_HEIGHT_PT, A4_WIDTH_PT, 0}, {A4_WIDTH_PT, A4_HEIGHT_PT, 90}};

static void test_real_documents(void)
{
	uint8_t *pdf = NULL;
	size_t bytes = 0;
	REQUIRE_VOID(make_pdf(mixed_pages, 1, &pdf, &bytes));
	EXPECT(pdf, bytes, SIGNER_OK, "one A4 page");
	CHECK(info.page_count == 1 && info.pages[0].width_pt == A4_WIDTH_PT && info.pages[0].height_pt == A4_HEIGHT_PT,
	      "one A4 page: %u pages, %g x %g", info.page_count, (double)info.pages[0].width_pt,
	      (double)info.pages[0].height_pt);
	CHECK(signer_pdf_inspect(pdf, bytes, bytes, &info) == SIGNER_OK, "a document exactly at the size limit");
	CHECK(signer_pdf_inspect(pdf, bytes, bytes - 1, &info) == SIGNER_ERR_TOO_LARGE, "one byte over the limit");
	free(pdf);

	REQUIRE_VOID(make_pdf(mixed_pages, 3, &pdf, &bytes));
	EXPECT(pdf, bytes, SIGNER_OK, "A4, landscape, A4 rotated");
	CHECK(info.page_count == 3 && info.signature_count == 0, "3 pages: %u", info.page_count);
	CHECK(info.pages[1].width_pt == A4_HEIGHT_PT && info.pages[1].height_pt == A4_WIDTH_PT, "landscape: %g x %g",
	      (double)info.pages[1].width_pt, (double)info.pages[1].height_pt);
	CHECK(info.pages[2].width_pt == A4_HEIGHT_PT && info.pages[2].height_pt == A4_WIDTH_PT,
	      "rotated 90: seen as %g x %g", (double)info.pages[2].width_pt, (double)info.pages[2].height_pt);

	/* Truncated: mupdf repairs what is left, and a repaired file is refused. */
	EXPECT(pdf, bytes / 2, SIGNER_ERR_CORRUPT, "the first half of a PDF");
	EXPECT(pdf, bytes - 30, SIGNER_ERR_CORRUPT, "a PDF without its xref's end");
	/* A comment inserted after the header shifts every offset of the xref into the middle of
	 * the object before (a shift into whitespace only would still parse, and rightly so). */
	static const char junk[] = "% twenty bytes here\n";
	size_t junk_bytes = sizeof junk - 1;
	uint8_t *shifted = malloc(bytes + junk_bytes);
	REQUIRE_VOID(shifted);
	memcpy(shifted, pdf, 9);
	memcpy(shifted + 9, junk, junk_bytes);
	memcpy(shifted + 9 + junk_bytes, pdf + 9, bytes - 9);
	EXPECT(shifted, bytes + junk_bytes, SIGNER_ERR_CORRUPT, "offsets shifted by a comment");
	free(shifted);
	free(pdf);
}

/* Encrypted copies of a real PDF, made by qpdf: with a user password, and with an empty one
 * (which opens without asking, and is refused all the same). */
static void test_encrypted(const char *dir)
{
	test_page page = {A4_WIDTH_PT, A4_HEIGHT_PT, 0};
	uint8_t *pdf = NULL;
	size_t bytes = 0;
	REQUIRE_VOID(make_pdf(&page, 1, &pdf, &bytes));
	char plain[256], command[1024], output[4096];
	snprintf(plain, sizeof plain, "%s/plain.pdf", dir);
	REQUIRE_VOID(write_file(plain, pdf, bytes));
	free(pdf);
	const char *passwords[] = {"secret", ""};
	for (int i = 0; i < 2; i++) {
		snprintf(command, sizeof command, "qpdf --encrypt '%s' owner 256 -- '%s' '%s/encrypted%d.pdf'",
		         passwords[i], plain, dir, i);
		int status = run(command, output, sizeof output);
		CHECK(status == 0, "qpdf --encrypt: %d %s", status, output);
		snprintf(command, sizeof command, "%s/encrypted%d.pdf", dir, i);
		uint8_t *encrypted = read_file(command, &bytes);
		REQUIRE_VOID(encrypted);
		EXPECT(encrypted, bytes, SIGNER_ERR_ENCRYPTED, command);
		free(encrypted);
	}
}

static void test_not_pdf(void)
{
	static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0,    0,    0,
	                              13,   'I', 'H', 'D', 'R',  0,    0,    0,    1,    0,    0,
	                              0,    1,   8,   6,   0,    0,    0,    0x1f, 0x15, 0xc4, 0x89};
	EXPECT(NULL, 0, SIGNER_ERR_NOT_PDF, "nothing");
	EXPECT((const uint8_t *)"", 0, SIGNER_ERR_NOT_PDF, "empty");
	EXPECT((const uint8_t *)"%PDF", 4, SIGNER_ERR_NOT_PDF, "half a header");
	EXPECT(png, sizeof png, SIGNER_ERR_NOT_PDF, "a PNG");
	uint8_t noise[4096];
	uint32_t state = 12345;
	for (size_t i = 0; i < sizeof noise; i++)
		noise[i] = (uint8_t)((state = state * 1103515245u + 12345u) >> 24);
	EXPECT(noise, sizeof noise, SIGNER_ERR_NOT_PDF, "random bytes");
	/* A header and noise: it says it is a PDF, so it is a damaged one. */
	memcpy(noise, "%PDF-1.7\n", 9);
	EXPECT(noise, sizeof noise, SIGNER_ERR_CORRUPT, "a header then random bytes");
	EXPECT((const uint8_t *)"%PDF-1.7\n", 9, SIGNER_ERR_CORRUPT, "a header alone");
	CHECK(signer_pdf_inspect(NULL, 1, 10, &info) == SIGNER_ERR_INVALID, "NULL with a length");
	CHECK(signer_pdf_inspect(png, sizeof png, 10, NULL) == SIGNER_ERR_INVALID, "NULL info");
	CHECK(signer_pdf_inspect(png, sizeof png, 10, &info) == SIGNER_ERR_TOO_LARGE, "the limit comes first");
}

/* A hand-written document and what inspecting it must answer. */
#define RAW_OBJECTS_MAX 4
typedef struct raw_case {
	const char *what;
	signer_err expected;
	const char *trailer_extra;
	int count;
	raw_object objects[RAW_OBJECTS_MAX];
} raw_case;

static void test_structures(void)
{
	const raw_object catalog = OBJ("<</Type/Catalog/Pages 2 0 R>>");
	const raw_object a4_page = OBJ("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>");
	const raw_object password = OBJ("<</Filter/Standard/V 1/R 2/O(01234567890123456789012345678901)"
	                                "/U(01234567890123456789012345678901)/P -4>>");
	const raw_case cases[] = {
	    {"no page", SIGNER_ERR_CORRUPT, NULL, 2, {catalog, OBJ("<</Type/Pages/Count 0/Kids[]>>")}},
	    {"a page tree that contains itself",
	     SIGNER_ERR_CORRUPT,
	     NULL,
	     2,
	     {catalog, OBJ("<</Type/Pages/Count 1/Kids[2 0 R]>>")}},
	    {"a /Count larger than the tree",
	     SIGNER_ERR_CORRUPT,
	     NULL,
	     3,
	     {catalog, OBJ("<</Type/Pages/Count 3/Kids[3 0 R]>>"), a4_page}},
	    {"an /Encrypt entry with a password we do not know",
	     SIGNER_ERR_ENCRYPTED,
	     "/Encrypt 4 0 R/ID[(0123456789abcdef)(0123456789abcdef)]",
	     4,
	     {catalog, OBJ("<</Type/Pages/Count 1/Kids[3 0 R]>>"), a4_page, password}},
	    {"a hand-written page", SIGNER_OK, NULL, 3, {catalog, OBJ("<</Type/Pages/Count 1/Kids[3 0 R]>>"), a4_page}},
	};
	size_t bytes = 0;
	uint8_t *pdf;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pdf = raw_pdf(cases[i].objects, cases[i].count, cases[i].trailer_extra, &bytes);
		EXPECT(pdf, bytes, cases[i].expected, cases[i].what);
		free(pdf);
	}

	pdf = pages_pdf((int)SIGNER_PAGES_MAX, &bytes);
	EXPECT(pdf, bytes, SIGNER_OK, "SIGNER_PAGES_MAX pages");
	CHECK(info.page_count == SIGNER_PAGES_MAX && info.pages[SIGNER_PAGES_MAX - 1].width_pt == 595,
	      "the last page: %u", info.page_count);
	free(pdf);
	pdf = pages_pdf((int)SIGNER_PAGES_MAX + 1, &bytes);
	EXPECT(pdf, bytes, SIGNER_ERR_TOO_LARGE, "one page over SIGNER_PAGES_MAX");
	free(pdf);

	pdf = nested_resources_pdf(100, &bytes);
	REQUIRE_VOID(pdf);
	EXPECT(pdf, bytes, SIGNER_OK, "a page whose resources nest 100 arrays");
	free(pdf);
	pdf = nested_resources_pdf(100000, &bytes);
	REQUIRE_VOID(pdf);
	EXPECT(pdf, bytes, SIGNER_ERR_CORRUPT, "a page whose resources nest 100 000 arrays (its object loads as null)");
	CHECK(strstr(signer_last_error(), "page 1"), "the page is named: %s", signer_last_error());
	free(pdf);

	pdf = bomb_pdf(&bytes);
	REQUIRE_VOID(pdf);
	CHECK(bytes < 64 * 1024, "the bomb is small: %zu bytes", bytes);
	EXPECT(pdf, bytes, SIGNER_ERR_TOO_LARGE, "a decompression bomb");
	CHECK(strstr(signer_last_error(), "SIGNER_CONTENT_BYTES_MAX"), "stopped by the content budget: %s",
	      signer_last_error());
	free(pdf);
}

/* pdf with object `number`'s xref entry pointing at object `instead`'s offset. */
static bool misplace(uint8_t *pdf, size_t bytes, int objects, int number, int instead)
{
	char head[32];
	int n = snprintf(head, sizeof head, "xref\n0 %d\n", objects + 1);
	uint8_t *xref = memmem(pdf, bytes, head, (size_t)n);
	if (!xref)
		return false;
	uint8_t *entries = xref + n; /* 20 bytes each, object 0 first */
	memcpy(entries + number * 20, entries + instead * 20, 20);
	return true;
}

/*
 * A page whose annotation's xref entry points at the page object instead: mupdf finds the
 * wrong object there and repairs the file when the annotation is read. Signing reads every
 * annotation of the page it signs (a visible signature loads its page), so the inspection reads
 * them too, and refuses the file here rather than accepting what signing would refuse.
 */
static void test_annotation_misplaced(void)
{
	const raw_object objects[] = {
	    OBJ("<</Type/Catalog/Pages 2 0 R>>"),
	    OBJ("<</Type/Pages/Count 1/Kids[3 0 R]>>"),
	    OBJ("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Annots[4 0 R]>>"),
	    OBJ("<</Type/Annot/Subtype/Widget/FT/Sig/T(Signature1)/Rect[0 0 0 0]>>"),
	};
	size_t bytes = 0;
	uint8_t *pdf = raw_pdf(objects, 4, NULL, &bytes);
	REQUIRE_VOID(pdf);
	EXPECT(pdf, bytes, SIGNER_OK, "a page with an annotation, as written");
	REQUIRE_VOID(misplace(pdf, bytes, 4, 4, 3));
	EXPECT(pdf, bytes, SIGNER_ERR_CORRUPT, "the annotation's xref entry points at the page");
	CHECK(strstr(signer_last_error(), "repair"), "refused as repaired: %s", signer_last_error());
	free(pdf);
}

/*
 * Objects reached only from a page's resources, as a visible signature's loading of the page
 * reads them (mupdf's scan for transparency and overprint): one whose xref entry is wrong makes
 * mupdf repair the file, so the inspection reads them too and refuses it here. Through an
 * /ExtGState of the page, and through the /ExtGState of a form XObject's own /Resources. A form
 * that names itself in its /Resources, and one with a transparency group, are read once and
 * accepted.
 */
static void test_resources_read(void)
{
	const raw_object state[] = {
	    OBJ("<</Type/Catalog/Pages 2 0 R>>"),
	    OBJ("<</Type/Pages/Count 1/Kids[3 0 R]>>"),
	    OBJ("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</ExtGState<</G0 4 0 R>>>>>>"),
	    OBJ("<</Type/ExtGState/BM/Multiply/CA 0.5>>"),
	};
	size_t bytes = 0;
	uint8_t *pdf = raw_pdf(state, 4, NULL, &bytes);
	REQUIRE_VOID(pdf);
	EXPECT(pdf, bytes, SIGNER_OK, "a page with a graphics state, as written");
	REQUIRE_VOID(misplace(pdf, bytes, 4, 4, 3));
	EXPECT(pdf, bytes, SIGNER_ERR_CORRUPT, "the page's graphics state's xref entry points at the page");
	CHECK(strstr(signer_last_error(), "repair"), "refused as repaired: %s", signer_last_error());
	free(pdf);

	const raw_object form[] = {
	    OBJ("<</Type/Catalog/Pages 2 0 R>>"),
	    OBJ("<</Type/Pages/Count 1/Kids[3 0 R]>>"),
	    OBJ("<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</XObject<</X0 4 0 R>>>>>>"),
	    OBJ("<</Type/XObject/Subtype/Form/BBox[0 0 10 10]/Group<</S/Transparency>>"
	        "/Resources<</XObject<</Self 4 0 R>>/ExtGState<</G1 5 0 R>>>>/Length 0>>\nstream\n\nendstream"),
	    OBJ("<</Type/ExtGState/OP true>>"),
	};
	pdf = raw_pdf(form, 5, NULL, &bytes);
	REQUIRE_VOID(pdf);
	EXPECT(pdf, bytes, SIGNER_OK, "a transparency group whose resources name itself: read once, accepted");
	REQUIRE_VOID(misplace(pdf, bytes, 5, 5, 3));
	EXPECT(pdf, bytes, SIGNER_ERR_CORRUPT, "the form's own graphics state's xref entry points at the page");
	CHECK(strstr(signer_last_error(), "repair"), "refused as repaired: %s", signer_last_error());
	free(pdf);
}

/* The cap itself: an allocation past it is refused and reported as too large; what was
 * allocated before is returned when the context closes. */
static void test_memory_cap(void)
{
	signer_fz fz;
	REQUIRE_VOID(signer_fz_open(&fz, 4u * 1024u * 1024u) == SIGNER_OK);
	size_t before = fz.bytes_used;
	CHECK(before > 0 && before <= fz.bytes_max, "the context itself is counted: %zu", before);
	void *volatile block = NULL;
	signer_err err = SIGNER_OK;
	fz_try(fz.ctx)
	{
		block = fz_malloc(fz.ctx, 1024);
		CHECK(fz.bytes_used == before + 1024, "counted: %zu", fz.bytes_used);
		(void)fz_malloc(fz.ctx, 8u * 1024u * 1024u);
	}
	fz_catch(fz.ctx)
	{
		err = signer_fz_caught(&fz, SIGNER_ERR_CORRUPT, "allocating");
	}
	CHECK(err == SIGNER_ERR_TOO_LARGE && fz.over_memory, "over the cap: %s", signer_strerror(err));
	fz_free(fz.ctx, block);
	CHECK(fz.bytes_used == before, "freed: %zu", fz.bytes_used);
	signer_fz_close(&fz);

	/* A real document under a cap too small for it. */
	size_t bytes = 0;
	uint8_t *pdf = pages_pdf((int)SIGNER_PAGES_MAX, &bytes);
	REQUIRE_VOID(pdf);
	REQUIRE_VOID(signer_fz_open(&fz, before + 64u * 1024u) == SIGNER_OK);
	pdf_document *doc = NULL;
	err = signer_pdf_open_checked(&fz, pdf, bytes, bytes, &info, &doc);
	CHECK(err == SIGNER_ERR_TOO_LARGE && !doc, "2000 pages in 64 KiB: %s (%s)", signer_strerror(err),
	      signer_last_error());
	signer_fz_close(&fz);
	free(pdf);
}

static void test_rect(void)
{
	signer_pdf_info *two = calloc(1, sizeof *two);
	REQUIRE_VOID(two);
	two->page_count = 2;
	two->pages[0] = (signer_page_size){595, 842};
	two->pages[1] = (signer_page_size){842, 595};
	struct {
		signer_rect rect;
		signer_err expected;
		const char *what;
	} cases[] = {
	    {{0, 0, 0, 595, 842}, SIGNER_OK, "the whole page"},
	    {{1, 600, 400, 842, 595}, SIGNER_OK, "the bottom-right corner of a landscape page"},
	    {{0, 10, 10, 11, 11}, SIGNER_OK, "the smallest"},
	    {{2, 10, 10, 100, 100}, SIGNER_ERR_RECT, "a page not there"},
	    {{UINT32_MAX, 10, 10, 100, 100}, SIGNER_ERR_RECT, "page UINT32_MAX"},
	    {{0, 10, 10, 10, 100}, SIGNER_ERR_RECT, "no width"},
	    {{0, 10, 10, 10.5f, 100}, SIGNER_ERR_RECT, "under SIGNER_RECT_SIDE_PT_MIN"},
	    {{0, 100, 100, 10, 10}, SIGNER_ERR_RECT, "inverted"},
	    {{0, -1, 10, 100, 100}, SIGNER_ERR_RECT, "left of the page"},
	    {{0, 10, 10, 596, 100}, SIGNER_ERR_RECT, "right of the page"},
	    {{0, 10, 10, 100, 843}, SIGNER_ERR_RECT, "below the page"},
	    {{1, 10, 10, 100, 600}, SIGNER_ERR_RECT, "below a landscape page"},
	    {{0, NAN, 10, 100, 100}, SIGNER_ERR_RECT, "NaN"},
	    {{0, 10, 10, INFINITY, 100}, SIGNER_ERR_RECT, "infinity"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		signer_err got = signer_rect_check(two, &cases[i].rect);
		CHECK(got == cases[i].expected, "%s: %s (%s)", cases[i].what, signer_strerror(got),
		      signer_last_error());
	}
	CHECK(signer_rect_check(NULL, &cases[0].rect) == SIGNER_ERR_INVALID, "NULL info");
	CHECK(signer_rect_check(two, NULL) == SIGNER_ERR_INVALID, "NULL rect");
	free(two);
}

/* ----- threads ----- */

typedef struct thread_input {
	const uint8_t *good, *bad;
	size_t good_bytes, bad_bytes;
	int failures;
} thread_input;

static void *inspect_thread(void *arg)
{
	thread_input *in = arg;
	signer_pdf_info *mine = malloc(sizeof *mine);
	for (int i = 0; mine && i < ROUNDS_PER_THREAD; i++) {
		if (signer_pdf_inspect(in->good, in->good_bytes, in->good_bytes, mine) != SIGNER_OK ||
		    mine->page_count != 3 || mine->pages[1].width_pt != A4_HEIGHT_PT)
			in->failures++;
		if (signer_pdf_inspect(in->bad, in->bad_bytes, in->bad_bytes, mine) != SIGNER_ERR_CORRUPT)
			in->failures++;
	}
	free(mine);
	return NULL;
}

static void test_threads(void)
{
	uint8_t *pdf = NULL;
	size_t bytes = 0;
	REQUIRE_VOID(make_pdf(mixed_pages, 3, &pdf, &bytes));
	thread_input inputs[THREADS];
	for (int i = 0; i < THREADS; i++)
		inputs[i] = (thread_input){pdf, pdf, bytes, bytes / 2, 0};
	REQUIRE_VOID(run_threads(inspect_thread, inputs, sizeof inputs[0], THREADS));
	for (int i = 0; i < THREADS; i++)
		CHECK(inputs[i].failures == 0, "thread %d: %d wrong results", i, inputs[i].failures);
	free(pdf);
}

/* The committed fixtures (tests/fixtures/pdf/README.md), among them an xref stream. */
static void test_fixtures(const char *fixtures)
{
	struct {
		const char *name;
		uint32_t pages, signatures;
	} cases[] = {{"one-page.pdf", 1, 0},
	             {"three-pages-rotated.pdf", 3, 0},
	             {"object-streams.pdf", 3, 0},
	             {"signed-invisible.pdf", 1, 1}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[512];
		size_t bytes = 0;
		snprintf(path, sizeof path, "%s/%s", fixtures, cases[i].name);
		uint8_t *pdf = read_file(path, &bytes);
		CHECK(pdf != NULL, "cannot read %s", path);
		if (!pdf)
			continue;
		EXPECT(pdf, bytes, SIGNER_OK, cases[i].name);
		CHECK(info.page_count == cases[i].pages && info.signature_count == cases[i].signatures,
		      "%s: %u pages, %u signatures", cases[i].name, info.page_count, info.signature_count);
		free(pdf);
	}
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2, "usage: signer_inspect_test FIXTURES_DIR (tests/fixtures/pdf)");
	char *dir = scratch_dir("signer-inspect");
	REQUIRE(dir, "scratch directory");
	/* mupdf must print nothing, whatever it is fed: stderr goes to a file while it runs. */
	char stderr_path[256];
	snprintf(stderr_path, sizeof stderr_path, "%s/stderr", dir);
	fflush(stderr);
	int saved_stderr = dup(2), captured = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	REQUIRE(saved_stderr >= 0 && captured >= 0 && dup2(captured, 2) == 2, "capturing stderr");
	close(captured);

	test_real_documents();
	test_fixtures(argv[1]);
	test_encrypted(dir);
	test_not_pdf();
	test_structures();
	test_annotation_misplaced();
	test_resources_read();
	test_threads();

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	size_t printed = 0;
	uint8_t *text = read_file(stderr_path, &printed);
	CHECK(text && printed == 0, "%zu bytes printed while inspecting: %.*s", printed,
	      (int)(printed > 2000 ? 2000 : printed), text ? (const char *)text : "");
	free(text);

	test_memory_cap();
	test_rect();
	remove_dir(dir);
	free(dir);
	return check_report(__FILE__);
}
