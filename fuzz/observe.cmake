# libFuzzer targets of src/trace (traceparent, tracestate, the OTLP receiver's answer) and
# src/audit (records read back by `warden audit verify|query`).
if(TARGET wdn_trace)
    wdn_fuzz_target(trace_context SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_trace_context.c
        DEPS wdn_trace)
    wdn_fuzz_target(otlp_response SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_otlp_response.c
        DEPS wdn_trace)
endif()
if(TARGET wdn_audit)
    wdn_fuzz_target(audit_records SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_audit_records.c
        DEPS wdn_audit)
endif()
