/* LD_PRELOAD shim: turn off expat's reparse deferral in every parser the process creates.
 * Debian bookworm's libexpat1 2.5.0-1+deb12u2 and later backport the fix of CVE-2023-52425
 * (reparse deferral), with which VTK 9.2 (ParaView 5.11) fails on XML files with raw appended data
 * ("not well-formed (invalid token)" just after <AppendedData encoding="raw">): the echo-onnx
 * CLI's output, and VTK's own default. VTK 9.3 turns deferral off itself; this does the same for
 * 9.2. Build: gcc -shared -fPIC -O2 expat_no_deferral.c -o libexpat_no_deferral.so -ldl
 * SPDX-License-Identifier: MIT OR Apache-2.0 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <expat.h>

typedef XML_Parser (*create_fn)(const XML_Char*);
typedef XML_Parser (*create_ns_fn)(const XML_Char*, XML_Char);
typedef XML_Parser (*create_mm_fn)(const XML_Char*, const XML_Memory_Handling_Suite*, const XML_Char*);
typedef XML_Bool (*set_fn)(XML_Parser, XML_Bool);

static XML_Parser no_deferral(XML_Parser p)
{
    set_fn set = (set_fn)dlsym(RTLD_NEXT, "XML_SetReparseDeferralEnabled");
    if (p && set)
        set(p, XML_FALSE);
    return p;
}

XML_Parser XML_ParserCreate(const XML_Char* encoding)
{
    return no_deferral(((create_fn)dlsym(RTLD_NEXT, "XML_ParserCreate"))(encoding));
}

XML_Parser XML_ParserCreateNS(const XML_Char* encoding, XML_Char sep)
{
    return no_deferral(((create_ns_fn)dlsym(RTLD_NEXT, "XML_ParserCreateNS"))(encoding, sep));
}

XML_Parser XML_ParserCreate_MM(const XML_Char* encoding, const XML_Memory_Handling_Suite* mm, const XML_Char* sep)
{
    return no_deferral(((create_mm_fn)dlsym(RTLD_NEXT, "XML_ParserCreate_MM"))(encoding, mm, sep));
}
