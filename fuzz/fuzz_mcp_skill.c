/* Fuzz target: a skill's SKILL.md as the MCP client checks it before loading (SEP-2640). The
 * input is the file; the entry lists its real size and SHA-256 digest, so every input reaches the
 * YAML frontmatter comparison with {name: pdf, description: tools}. Invariants: accepted content
 * has exactly that frontmatter; one byte more in the file never passes the size check. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "fuzz.h"
#include "mcp/client_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char md[32];
    unsigned int n = 0;
    char digest[7 + 65], why[300];
    json_t *skill;
    int rc;

    if (size > 65536 || EVP_Digest(data, size, md, &n, EVP_sha256(), NULL) != 1)
        return 0;
    memcpy(digest, "sha256:", 7);
    for (unsigned i = 0; i < 32; i++)
        snprintf(digest + 7 + 2 * i, 3, "%02x", md[i]);
    skill = json_pack("{s:s, s:{s:s, s:s}, s:[{s:s, s:s, s:I}]}", "uri", "skill://p/SKILL.md",
                      "frontmatter", "name", "pdf", "description", "tools", "resources", "uri",
                      "skill://p/SKILL.md", "digest", digest, "size", (json_int_t)size);
    CHECK(skill != NULL);
    rc = wdn__mcp_skill_verify(skill, "skill://p/SKILL.md", (const char *)data, size, why,
                               sizeof(why));
    if (rc == 0)
        CHECK(size >= 4 && memcmp(data, "---\n", 4) == 0);
    json_object_set_new(json_array_get(json_object_get(skill, "resources"), 0), "size",
                        json_integer((json_int_t)size + 1));
    CHECK(wdn__mcp_skill_verify(skill, "skill://p/SKILL.md", (const char *)data, size, why,
                                sizeof(why)) != 0);
    CHECK(wdn__mcp_skill_verify(skill, "skill://p/other.md", (const char *)data, size, why,
                                sizeof(why)) != 0);
    json_decref(skill);
    return 0;
}
