/* An MCP server with the fixtures the official conformance suite (@modelcontextprotocol/
 * conformance, server mode) expects: its test_* tools, resources and prompts. Sessions on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "fixtures.h"

/* A 1x1 PNG and a tiny WAV, generated once and pasted here. */
#define PNG_B64                                                                                    \
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
#define WAV_B64 "UklGRjQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YRAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define ELICIT_TIMEOUT_MS 20000

static json_t *image_block(void)
{
    return json_pack("{s:s, s:s, s:s}", "type", "image", "data", PNG_B64, "mimeType", "image/png");
}

static int t_simple_text(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    return wdn_mcp_call_text(call, "This is a simple text response for testing.");
}

static int t_image(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    return wdn_mcp_call_content(call, image_block());
}

static int t_audio(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    return wdn_mcp_call_content(call, json_pack("{s:s, s:s, s:s}", "type", "audio", "data", WAV_B64,
                                                "mimeType", "audio/wav"));
}

static int t_embedded(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    return wdn_mcp_call_content(call, json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "resource",
                                                "resource", "uri", "test://embedded-resource",
                                                "mimeType", "text/plain", "text",
                                                "This is an embedded resource content."));
}

static int t_mixed(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    int rc = wdn_mcp_call_text(call, "Multiple content types test:");

    if (rc == 0)
        rc = wdn_mcp_call_content(call, image_block());
    if (rc == 0)
        rc = wdn_mcp_call_content(
            call, json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "resource", "resource", "uri",
                            "test://mixed-content-resource", "mimeType", "application/json", "text",
                            "{\"test\":\"data\",\"value\":123}"));
    return rc;
}

static int t_logging(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    wdn_mcp_call_log(call, WDN_MCP_LOG_INFO, "conformance", json_string("Tool execution started"));
    usleep(50000);
    wdn_mcp_call_log(call, WDN_MCP_LOG_INFO, "conformance", json_string("Tool processing data"));
    usleep(50000);
    wdn_mcp_call_log(call, WDN_MCP_LOG_INFO, "conformance",
                     json_string("Tool execution completed"));
    return wdn_mcp_call_text(call, "Tool with logging executed successfully");
}

static int t_error(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    wdn_mcp_call_set_error(call);
    return wdn_mcp_call_text(call, "This tool intentionally returns an error for testing");
}

static int t_progress(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    wdn_mcp_call_progress(call, 0, 100, NULL);
    usleep(50000);
    wdn_mcp_call_progress(call, 50, 100, NULL);
    usleep(50000);
    wdn_mcp_call_progress(call, 100, 100, NULL);
    return wdn_mcp_call_text(call, "Tool with progress executed successfully");
}

/* SSE polling (server-sse-polling): the server closed this POST's connection after the priming
 * event; the tool takes a while, and its result reaches the client on its GET + Last-Event-ID. */
static int t_reconnection(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    usleep(200000);
    return wdn_mcp_call_text(call, "Reconnection test completed");
}

/* Asks the client something and reports the answer as the tool's text. */
static int ask_client(struct wdn_mcp_call *call, const char *method, json_t *params,
                      const char *prefix, bool elicitation)
{
    json_t *result = NULL;
    char err[200], *s = NULL, text[2048];
    int rc;

    rc = wdn_mcp_call_request(call, method, params, ELICIT_TIMEOUT_MS, &result, err, sizeof(err));
    if (rc != 0) {
        wdn_mcp_call_set_error(call);
        snprintf(text, sizeof(text), "%s request failed: %s", method,
                 err[0] ? err : wdn_strerror(rc));
        return wdn_mcp_call_text(call, text);
    }
    if (elicitation) {
        s = json_dumps(json_object_get(result, "content") ? json_object_get(result, "content")
                                                          : json_null(),
                       JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(text, sizeof(text), "%saction=%s, content=%s", prefix,
                 json_string_value(json_object_get(result, "action"))
                     ? json_string_value(json_object_get(result, "action"))
                     : "unknown",
                 s ? s : "null");
    } else {
        snprintf(
            text, sizeof(text), "%s%s", prefix,
            json_string_value(json_object_get(json_object_get(result, "content"), "text"))
                ? json_string_value(json_object_get(json_object_get(result, "content"), "text"))
                : "");
    }
    free(s);
    json_decref(result);
    return wdn_mcp_call_text(call, text);
}

static int t_sampling(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    json_t *params =
        json_pack("{s:[{s:s, s:{s:s, s:O}}], s:i}", "messages", "role", "user", "content", "type",
                  "text", "text", json_object_get(args, "prompt"), "maxTokens", 100);

    return ask_client(call, "sampling/createMessage", params, "LLM response: ", false);
}

static int t_elicitation(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    json_t *params = json_pack("{s:O, s:{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}}, s:[ss]}}", "message",
                               json_object_get(args, "message"), "requestedSchema", "type",
                               "object", "properties", "username", "type", "string", "description",
                               "User's response", "email", "type", "string", "description",
                               "User's email address", "required", "username", "email");

    return ask_client(call, "elicitation/create", params, "User response: ", true);
}

static int t_sep1034(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    json_t *params = json_loads(
        "{\"message\":\"Please review and update the form fields with defaults\","
        "\"requestedSchema\":{\"type\":\"object\",\"properties\":{"
        "\"name\":{\"type\":\"string\",\"description\":\"User name\",\"default\":\"John Doe\"},"
        "\"age\":{\"type\":\"integer\",\"description\":\"User age\",\"default\":30},"
        "\"score\":{\"type\":\"number\",\"description\":\"User score\",\"default\":95.5},"
        "\"status\":{\"type\":\"string\",\"description\":\"User status\",\"enum\":"
        "[\"active\",\"inactive\",\"pending\"],\"default\":\"active\"},"
        "\"verified\":{\"type\":\"boolean\",\"description\":\"Verification status\","
        "\"default\":true}},\"required\":[]}}",
        0, NULL);

    return ask_client(call, "elicitation/create", params, "Elicitation completed: ", true);
}

static int t_sep1330(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    json_t *params = json_loads(
        "{\"message\":\"Please select options from the enum fields\","
        "\"requestedSchema\":{\"type\":\"object\",\"properties\":{"
        "\"untitledSingle\":{\"type\":\"string\",\"description\":\"Select one option\","
        "\"enum\":[\"option1\",\"option2\",\"option3\"]},"
        "\"titledSingle\":{\"type\":\"string\",\"description\":\"Select one option with titles\","
        "\"oneOf\":[{\"const\":\"value1\",\"title\":\"First Option\"},{\"const\":\"value2\","
        "\"title\":\"Second Option\"},{\"const\":\"value3\",\"title\":\"Third Option\"}]},"
        "\"legacyEnum\":{\"type\":\"string\",\"description\":\"Select one option (legacy)\","
        "\"enum\":[\"opt1\",\"opt2\",\"opt3\"],\"enumNames\":[\"Option One\",\"Option Two\","
        "\"Option Three\"]},"
        "\"untitledMulti\":{\"type\":\"array\",\"description\":\"Select multiple options\","
        "\"minItems\":1,\"maxItems\":3,\"items\":{\"type\":\"string\",\"enum\":[\"option1\","
        "\"option2\",\"option3\"]}},"
        "\"titledMulti\":{\"type\":\"array\",\"description\":\"Select multiple options with "
        "titles\",\"minItems\":1,\"maxItems\":3,\"items\":{\"anyOf\":[{\"const\":\"value1\","
        "\"title\":\"First Choice\"},{\"const\":\"value2\",\"title\":\"Second Choice\"},"
        "{\"const\":\"value3\",\"title\":\"Third Choice\"}]}}},\"required\":[]}}",
        0, NULL);

    return ask_client(call, "elicitation/create", params, "Elicitation completed: ", true);
}

static int t_custom_header(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    char text[300];

    snprintf(text, sizeof(text), "region=%s", json_string_value(json_object_get(args, "region")));
    return wdn_mcp_call_text(call, text);
}

/* Diagnostic fixtures of the 2026-07-28 suite. */
static int t_missing_capability(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    int rc = wdn_mcp_call_require_capability(call, "sampling");

    return rc != 0 ? rc : wdn_mcp_call_text(call, "sampling is declared");
}

static int t_logging_tool(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    wdn_mcp_call_log(call, WDN_MCP_LOG_INFO, "conformance", json_string("a log message"));
    return wdn_mcp_call_text(call, "logged");
}

static int t_schema_2020_12(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    char text[256];

    snprintf(text, sizeof(text), "Hello, %s",
             json_string_value(json_object_get(args, "name"))
                 ? json_string_value(json_object_get(args, "name"))
                 : "anonymous");
    return wdn_mcp_call_text(call, text);
}

/* ---- resources ---- */

static int r_read(struct wdn_mcp_call *call, const char *uri, json_t *contents, void *ud)
{
    json_t *c;

    if (strcmp(uri, "test://static-text") == 0) {
        c = json_pack("{s:s, s:s, s:s}", "uri", uri, "mimeType", "text/plain", "text",
                      "This is the content of the static text resource.");
    } else if (strcmp(uri, "test://static-binary") == 0) {
        c = json_pack("{s:s, s:s, s:s}", "uri", uri, "mimeType", "image/png", "blob", PNG_B64);
    } else if (strcmp(uri, "test://watched-resource") == 0) {
        c = json_pack("{s:s, s:s, s:s}", "uri", uri, "mimeType", "text/plain", "text",
                      "Watched resource content");
    } else if (strncmp(uri, "test://template/", 16) == 0) {
        char id[128], text[400];
        const char *end = strstr(uri + 16, "/data");
        size_t n = end ? (size_t)(end - (uri + 16)) : 0;
        if (n == 0 || n >= sizeof(id))
            return WDN_ENOTFOUND;
        memcpy(id, uri + 16, n);
        id[n] = '\0';
        snprintf(text, sizeof(text),
                 "{\"id\":\"%s\",\"templateTest\":true,\"data\":\"Data for ID: %s\"}", id, id);
        c = json_pack("{s:s, s:s, s:s}", "uri", uri, "mimeType", "application/json", "text", text);
    } else {
        return WDN_ENOTFOUND;
    }
    return json_array_append_new(contents, c) == 0 ? 0 : WDN_ENOMEM;
}

/* ---- prompts ---- */

static json_t *user_text(const char *text)
{
    return json_pack("{s:s, s:{s:s, s:s}}", "role", "user", "content", "type", "text", "text",
                     text);
}

static int p_simple(struct wdn_mcp_call *call, json_t *args, json_t **messages, void *ud)
{
    *messages = json_pack("[o]", user_text("This is a simple prompt for testing."));
    return *messages ? 0 : WDN_ENOMEM;
}

static int p_args(struct wdn_mcp_call *call, json_t *args, json_t **messages, void *ud)
{
    char text[1024];

    snprintf(text, sizeof(text), "Prompt with arguments: arg1='%s', arg2='%s'",
             json_string_value(json_object_get(args, "arg1")),
             json_string_value(json_object_get(args, "arg2")));
    *messages = json_pack("[o]", user_text(text));
    return *messages ? 0 : WDN_ENOMEM;
}

static int p_embedded(struct wdn_mcp_call *call, json_t *args, json_t **messages, void *ud)
{
    *messages =
        json_pack("[{s:s, s:{s:s, s:{s:O, s:s, s:s}}}, o]", "role", "user", "content", "type",
                  "resource", "resource", "uri", json_object_get(args, "resourceUri"), "mimeType",
                  "text/plain", "text", "Embedded resource content for testing.",
                  user_text("Please process the embedded resource above."));
    return *messages ? 0 : WDN_ENOMEM;
}

static int p_image(struct wdn_mcp_call *call, json_t *args, json_t **messages, void *ud)
{
    *messages = json_pack("[{s:s, s:o}, o]", "role", "user", "content", image_block(),
                          user_text("Please analyze the image above."));
    return *messages ? 0 : WDN_ENOMEM;
}

static int complete(const char *ref, const char *arg, const char *value, json_t *values, void *ud)
{
    static const char *const words[] = {"paris", "park", "party", "test", "testing", "tested"};
    size_t i;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strncmp(words[i], value, strlen(value)) == 0)
            json_array_append_new(values, json_string(words[i]));
    return 0;
}

#define NO_ARGS "{\"type\":\"object\",\"properties\":{}}"

int main(int argc, char **argv)
{
    struct wdn_mcp_server_config cfg = {
        .name = "warden-conformance-server",
        .version = "1.0.0",
        .path = "/mcp",
        /* Resumable streams and SSE polling: a tools/call's POST stream closes after its
         * priming event and the client fetches the result with GET + Last-Event-ID. */
        .resumable = true,
        .sse_poll_ms = 100};
    const struct wdn_mcp_tool tools[] = {
        {.name = "test_simple_text",
         .description = "Returns simple text",
         .input_schema = NO_ARGS,
         .fn = t_simple_text},
        {.name = "test_image_content",
         .description = "Returns an image",
         .input_schema = NO_ARGS,
         .fn = t_image},
        {.name = "test_audio_content",
         .description = "Returns audio",
         .input_schema = NO_ARGS,
         .fn = t_audio},
        {.name = "test_embedded_resource",
         .description = "Returns an embedded resource",
         .input_schema = NO_ARGS,
         .fn = t_embedded},
        {.name = "test_multiple_content_types",
         .description = "Returns text, image and resource",
         .input_schema = NO_ARGS,
         .fn = t_mixed},
        {.name = "test_tool_with_logging",
         .description = "Sends three log messages",
         .input_schema = NO_ARGS,
         .fn = t_logging},
        {.name = "test_error_handling",
         .description = "Always fails",
         .input_schema = NO_ARGS,
         .fn = t_error},
        {.name = "test_tool_with_progress",
         .description = "Reports progress",
         .input_schema = NO_ARGS,
         .fn = t_progress},
        {.name = "test_reconnection",
         .description = "Answers after its SSE connection was closed (polling)",
         .input_schema = NO_ARGS,
         .fn = t_reconnection},
        {.name = "test_sampling",
         .description = "Asks the client's LLM",
         .input_schema = "{\"type\":\"object\",\"properties\":{\"prompt\":{\"type\":\"string\"}},"
                         "\"required\":[\"prompt\"]}",
         .fn = t_sampling},
        {.name = "test_elicitation",
         .description = "Asks the user",
         .input_schema = "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\"}},"
                         "\"required\":[\"message\"]}",
         .fn = t_elicitation},
        {.name = "test_elicitation_sep1034_defaults",
         .description = "Elicitation with defaults",
         .input_schema = NO_ARGS,
         .fn = t_sep1034},
        {.name = "test_elicitation_sep1330_enums",
         .description = "Elicitation with enums",
         .input_schema = NO_ARGS,
         .fn = t_sep1330},
        {.name = "test_missing_capability",
         .description = "Needs the client's sampling capability",
         .input_schema = NO_ARGS,
         .fn = t_missing_capability},
        {.name = "test_logging_tool",
         .description = "Sends one log message",
         .input_schema = NO_ARGS,
         .fn = t_logging_tool},
        {.name = "test_custom_header",
         .description = "Echoes a parameter mirrored in the Mcp-Param-Region header",
         .input_schema = "{\"type\":\"object\",\"properties\":{\"region\":{\"type\":\"string\","
                         "\"x-mcp-header\":\"Region\"}},\"required\":[\"region\"]}",
         .fn = t_custom_header},
        {.name = "json_schema_2020_12_tool",
         .description = "Tool with JSON Schema 2020-12 features",
         .input_schema =
             "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\","
             "\"$defs\":{\"address\":{\"type\":\"object\",\"properties\":{\"street\":{\"type\":"
             "\"string\"},\"city\":{\"type\":\"string\"}}}},\"properties\":{\"name\":{\"type\":"
             "\"string\"},\"address\":{\"$ref\":\"#/$defs/"
             "address\"}},\"additionalProperties\":false}",
         .fn = t_schema_2020_12},
    };
    const struct wdn_mcp_resource resources[] = {
        {"test://static-text", NULL, "static-text", NULL, "A static text resource", "text/plain",
         r_read, NULL, true},
        {"test://static-binary", NULL, "static-binary", NULL, "A static binary resource",
         "image/png", r_read, NULL, true},
        {"test://watched-resource", NULL, "watched-resource", NULL, "A resource to subscribe to",
         "text/plain", r_read, NULL, true},
        {NULL, "test://template/{id}/data", "template", NULL, "A resource template",
         "application/json", r_read, NULL, true},
    };
    static const struct wdn_mcp_prompt_arg two[] = {{"arg1", "First test argument", true},
                                                    {"arg2", "Second test argument", true}};
    static const struct wdn_mcp_prompt_arg uri[] = {
        {"resourceUri", "URI of the resource to embed", true}};
    const struct wdn_mcp_prompt prompts[] = {
        {"test_simple_prompt", NULL, "A simple prompt", NULL, 0, p_simple, NULL, true},
        {"test_prompt_with_arguments", NULL, "A prompt with arguments", two, 2, p_args, NULL, true},
        {"test_prompt_with_embedded_resource", NULL, "A prompt with a resource", uri, 1, p_embedded,
         NULL, true},
        {"test_prompt_with_image", NULL, "A prompt with an image", NULL, 0, p_image, NULL, true},
    };
    struct wdn_mcp_server *srv;
    struct wdn_app *app;
    size_t i;
    int rc = 0;

    srv = wdn_mcp_server_new(&cfg);
    if (srv == NULL)
        return 1;
    for (i = 0; i < sizeof(tools) / sizeof(tools[0]) && rc == 0; i++)
        rc = wdn_mcp_server_add_tool(srv, &tools[i]);
    for (i = 0; i < sizeof(resources) / sizeof(resources[0]) && rc == 0; i++)
        rc = wdn_mcp_server_add_resource(srv, &resources[i]);
    for (i = 0; i < sizeof(prompts) / sizeof(prompts[0]) && rc == 0; i++)
        rc = wdn_mcp_server_add_prompt(srv, &prompts[i]);
    if (rc == 0)
        rc = fixtures_2026_add(srv);
    if (rc != 0) {
        fprintf(stderr, "conformance_server: registration failed: %s\n", wdn_strerror(rc));
        wdn_mcp_server_free(srv);
        return 1;
    }
    wdn_mcp_server_set_completer(srv, complete, NULL);
    /* Handlers that wait for the client (sampling, elicitation) must not block the loop. */
    app = app_new("conformance_server", app_port(argc, argv, 3001));
    if (app == NULL || wdn_app_mcp(app, "/mcp", srv, false) != 0) {
        wdn_app_free(app);
        wdn_mcp_server_free(srv);
        return 1;
    }
    rc = app_run("conformance_server", app);
    wdn_mcp_server_free(srv);
    return rc;
}
