/* The conformance suite's fixtures for 2026-07-28 and its extensions: multi round-trip requests
 * (input-required-result-*, SEP-2322), tasks (tasks-*, SEP-2663) and server-stateless's
 * streaming elicitation. Every handler asks for input the same way in every protocol version:
 * it reads the answers it has and queues what it still needs; the SDK does the round trips. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"

/* The "content" of an accepted elicitation answer, or NULL. */
static json_t *accepted(struct wdn_mcp_call *call, const char *key)
{
    json_t *a = wdn_mcp_call_input(call, key);
    const char *action = json_string_value(json_object_get(a, "action"));

    return action != NULL && strcmp(action, "accept") == 0 ? json_object_get(a, "content") : NULL;
}

/* Queues an elicitation for one field of the given JSON Schema type. */
static int ask(struct wdn_mcp_call *call, const char *key, const char *message, const char *field,
               const char *type)
{
    return wdn_mcp_call_input_request(
        call, key, "elicitation/create",
        json_pack("{s:s, s:{s:s, s:{s:{s:s}}, s:[s]}}", "message", message, "requestedSchema",
                  "type", "object", "properties", field, "type", type, "required", field));
}

static int ask_sampling(struct wdn_mcp_call *call, const char *key, const char *text, int max)
{
    return wdn_mcp_call_input_request(call, key, "sampling/createMessage",
                                      json_pack("{s:[{s:s, s:{s:s, s:s}}], s:i}", "messages",
                                                "role", "user", "content", "type", "text", "text",
                                                text, "maxTokens", max));
}

static const char *sampled_text(struct wdn_mcp_call *call, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(wdn_mcp_call_input(call, key), "content"), "text"));
}

/* Answers "<before><arg><after>". */
static int text(struct wdn_mcp_call *call, const char *before, const char *arg, const char *after)
{
    char buf[512];

    snprintf(buf, sizeof(buf), "%s%s%s", before, arg ? arg : "", after);
    return wdn_mcp_call_text(call, buf);
}

/* ---- input-required-result-* ------------------------------------------------------------ */

static int t_irr_elicitation(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    const char *name = json_string_value(json_object_get(accepted(call, "user_name"), "name"));

    if (name == NULL)
        return ask(call, "user_name", "What is your name?", "name", "string");
    return text(call, "Hello, ", name, "!");
}

static int t_irr_sampling(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    const char *answer = sampled_text(call, "capital_question");

    if (answer == NULL)
        return ask_sampling(call, "capital_question", "What is the capital of France?", 100);
    return text(call, "Sampling said: ", answer, "");
}

static int t_irr_roots(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    json_t *roots = json_object_get(wdn_mcp_call_input(call, "client_roots"), "roots");

    if (!json_is_array(roots))
        return wdn_mcp_call_input_request(call, "client_roots", "roots/list", json_object());
    return text(call,
                "First root: ", json_string_value(json_object_get(json_array_get(roots, 0), "uri")),
                "");
}

/* requestState: the handler's state comes back verified, or the SDK refuses the retry. */
static int t_irr_state(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    const char *state = wdn_mcp_call_state(call);

    if (accepted(call, "confirm") == NULL) {
        wdn_mcp_call_set_state(call, "confirm-pending");
        return ask(call, "confirm", "Please confirm", "ok", "boolean");
    }
    if (state == NULL || strcmp(state, "confirm-pending") != 0) {
        wdn_mcp_call_set_error(call);
        return wdn_mcp_call_text(call, "state missing");
    }
    return wdn_mcp_call_text(call, "state-ok: confirmed");
}

static int t_irr_multiple(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    int missing = 0;

    wdn_mcp_call_set_state(call, "multiple");
    if (accepted(call, "user_name") == NULL)
        missing += ask(call, "user_name", "What is your name?", "name", "string") == 0;
    if (sampled_text(call, "greeting") == NULL)
        missing += ask_sampling(call, "greeting", "Generate a greeting", 50) == 0;
    if (wdn_mcp_call_input(call, "client_roots") == NULL)
        missing +=
            wdn_mcp_call_input_request(call, "client_roots", "roots/list", json_object()) == 0;
    if (missing > 0)
        return 0;
    return text(call, "All inputs received: ",
                json_string_value(json_object_get(accepted(call, "user_name"), "name")), "");
}

static int t_irr_multi_round(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    const char *name = json_string_value(json_object_get(accepted(call, "step1"), "name"));
    const char *color = json_string_value(json_object_get(accepted(call, "step2"), "color"));

    if (name == NULL) {
        wdn_mcp_call_set_state(call, "round-1");
        return ask(call, "step1", "Step 1: What is your name?", "name", "string");
    }
    if (color == NULL) {
        wdn_mcp_call_set_state(call, "round-2");
        return ask(call, "step2", "Step 2: What is your favorite color?", "color", "string");
    }
    return text(call, "Done after three rounds, favourite color ", color, "");
}

/* Only what the client declared: an undeclared elicitation is not queued (the SDK refuses it). */
static int t_irr_capabilities(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    int queued = 0;

    if (sampled_text(call, "capital_question") != NULL)
        return wdn_mcp_call_text(call, "sampled");
    queued += ask(call, "user_name", "What is your name?", "name", "string") == 0;
    queued += ask_sampling(call, "capital_question", "What is the capital of France?", 100) == 0;
    if (queued == 0)
        return wdn_mcp_call_text(call, "the client declared neither elicitation nor sampling");
    return 0;
}

/* server-stateless: an elicitation in the stateless era is a round trip, never a request on the
 * response stream; progress (when asked for) is the only thing streamed before the answer. */
static int t_streaming_elicitation(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    json_t *answer = accepted(call, "confirmation");

    wdn_mcp_call_progress(call, 0, 1, "asking the user");
    if (answer == NULL && wdn_mcp_call_input(call, "confirmation") == NULL)
        return ask(call, "confirmation", "Continue?", "ok", "boolean");
    return wdn_mcp_call_text(call, answer != NULL ? "Streaming elicitation completed"
                                                  : "Streaming elicitation declined");
}

static int p_irr_prompt(struct wdn_mcp_call *call, json_t *args, json_t **messages, void *ud)
{
    const char *context =
        json_string_value(json_object_get(accepted(call, "user_context"), "context"));
    char buf[512];

    if (context == NULL)
        return ask(call, "user_context", "What context should the prompt use?", "context",
                   "string");
    snprintf(buf, sizeof(buf), "Use this context: %s", context);
    *messages =
        json_pack("[{s:s, s:{s:s, s:s}}]", "role", "user", "content", "type", "text", "text", buf);
    return *messages != NULL ? 0 : WDN_ENOMEM;
}

/* ---- tasks-* ------------------------------------------------------------------------------ */

/* Sleeps ms in short slices, giving up when the task is cancelled. */
static bool nap(struct wdn_mcp_call *call, long ms)
{
    for (; ms > 0; ms -= 20) {
        if (wdn_mcp_call_cancelled(call))
            return false;
        usleep(20000);
    }
    return !wdn_mcp_call_cancelled(call);
}

static int t_greet(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    return text(call, "Hello, ", json_string_value(json_object_get(args, "name")), "!");
}

static int t_slow_compute(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    double secs = json_number_value(json_object_get(args, "seconds"));

    if (!nap(call, (long)(secs * 1000)))
        return WDN_ECANCELED;
    return text(call, "Computed ", json_string_value(json_object_get(args, "label")), "");
}

static int t_failing_job(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    nap(call, 1000);
    wdn_mcp_call_set_error(call);
    return wdn_mcp_call_text(call, "failing_job: the job failed");
}

static int t_protocol_error_job(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    wdn_mcp_call_fail(call, WDN_JSONRPC_INTERNAL_ERROR, "protocol_error_job: internal failure");
    return WDN_EINTERNAL;
}

static int t_confirm_delete(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    const char *file = json_string_value(json_object_get(args, "filename"));
    json_t *answer = accepted(call, "confirm");
    char msg[300];

    if (answer == NULL && wdn_mcp_call_input(call, "confirm") == NULL) {
        snprintf(msg, sizeof(msg), "Delete %s?", file ? file : "the file");
        return ask(call, "confirm", msg, "confirm", "boolean");
    }
    if (json_is_true(json_object_get(answer, "confirm")))
        return text(call, "Deleted ", file, "");
    return text(call, "Kept ", file, "");
}

/* Two questions at once: the task waits in input_required until both are answered. */
static int t_multi_input(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    int missing = 0;

    if (wdn_mcp_call_input(call, "first") == NULL)
        missing += ask(call, "first", "First question", "name", "string") == 0;
    if (wdn_mcp_call_input(call, "second") == NULL)
        missing += ask(call, "second", "Second question", "name", "string") == 0;
    return missing > 0 ? 0 : wdn_mcp_call_text(call, "Both inputs received");
}

/* MRTR before the task: the name is gathered with round trips, then the task greets. */
static int t_task_prepare(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    if (accepted(call, "user_name") == NULL)
        return ask(call, "user_name", "What is your name?", "name", "string");
    return 0;
}

static int t_tool_with_task(struct wdn_mcp_call *call, json_t *args, void *ud)
{
    return text(call, "Hello, ",
                json_string_value(json_object_get(accepted(call, "user_name"), "name")),
                ", from a task!");
}

#define NO_ARGS "{\"type\":\"object\",\"properties\":{}}"

int fixtures_2026_add(struct wdn_mcp_server *srv)
{
    const struct wdn_mcp_tool tools[] = {
        {.name = "test_input_required_result_elicitation",
         .description = "Asks for the user's name with an input_required round trip",
         .input_schema = NO_ARGS,
         .fn = t_irr_elicitation},
        {.name = "test_input_required_result_sampling",
         .description = "Asks the client's model a question with a round trip",
         .input_schema = NO_ARGS,
         .fn = t_irr_sampling},
        {.name = "test_input_required_result_list_roots",
         .description = "Asks for the client's roots with a round trip",
         .input_schema = NO_ARGS,
         .fn = t_irr_roots},
        {.name = "test_input_required_result_request_state",
         .description = "Round trip whose requestState must come back intact",
         .input_schema = NO_ARGS,
         .fn = t_irr_state},
        {.name = "test_input_required_result_tampered_state",
         .description = "Round trip whose requestState is integrity-protected",
         .input_schema = NO_ARGS,
         .fn = t_irr_state},
        {.name = "test_input_required_result_multiple_inputs",
         .description = "Asks for three inputs of different kinds at once",
         .input_schema = NO_ARGS,
         .fn = t_irr_multiple},
        {.name = "test_input_required_result_multi_round",
         .description = "Three rounds, the state changing each time",
         .input_schema = NO_ARGS,
         .fn = t_irr_multi_round},
        {.name = "test_input_required_result_capabilities",
         .description = "Asks only for what the client declared",
         .input_schema = NO_ARGS,
         .fn = t_irr_capabilities},
        {.name = "test_streaming_elicitation",
         .description = "An elicitation in the stateless era (a round trip)",
         .input_schema = NO_ARGS,
         .fn = t_streaming_elicitation},
        {.name = "greet",
         .description = "Greets, synchronously",
         .input_schema = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},"
                         "\"required\":[\"name\"]}",
         .fn = t_greet},
        {.name = "slow_compute",
         .description = "Sleeps seconds, then answers (a task when the client supports tasks)",
         .input_schema = "{\"type\":\"object\",\"properties\":{\"seconds\":{\"type\":\"number\","
                         "\"minimum\":0,\"maximum\":600},\"label\":{\"type\":\"string\"}},"
                         "\"required\":[\"seconds\"]}",
         .fn = t_slow_compute,
         .task_support = WDN_MCP_TASK_OPTIONAL},
        {.name = "failing_job",
         .description = "A task that ends with a tool error",
         .input_schema = NO_ARGS,
         .fn = t_failing_job,
         .task_support = WDN_MCP_TASK_REQUIRED},
        {.name = "protocol_error_job",
         .description = "A task that ends with a protocol error",
         .input_schema = NO_ARGS,
         .fn = t_protocol_error_job,
         .task_support = WDN_MCP_TASK_OPTIONAL},
        {.name = "confirm_delete",
         .description = "A task that asks for confirmation",
         .input_schema = "{\"type\":\"object\",\"properties\":{\"filename\":{\"type\":"
                         "\"string\"}}}",
         .fn = t_confirm_delete,
         .task_support = WDN_MCP_TASK_OPTIONAL},
        {.name = "multi_input",
         .description = "A task that asks two questions at once",
         .input_schema = NO_ARGS,
         .fn = t_multi_input,
         .task_support = WDN_MCP_TASK_OPTIONAL},
        {.name = "test_tool_with_task",
         .description = "Gathers a name with round trips, then runs as a task",
         .input_schema = NO_ARGS,
         .fn = t_tool_with_task,
         .prepare = t_task_prepare,
         .task_support = WDN_MCP_TASK_REQUIRED},
    };
    const struct wdn_mcp_prompt prompt = {.name = "test_input_required_result_prompt",
                                          .description = "A prompt that asks for context first",
                                          .get = p_irr_prompt};
    size_t i;
    int rc = 0;

    for (i = 0; i < sizeof(tools) / sizeof(tools[0]) && rc == 0; i++)
        rc = wdn_mcp_server_add_tool(srv, &tools[i]);
    return rc != 0 ? rc : wdn_mcp_server_add_prompt(srv, &prompt);
}
