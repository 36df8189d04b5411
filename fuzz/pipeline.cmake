# libFuzzer targets of src/pipeline: the bearer middleware on attacker-controlled request parts.
if(TARGET wdn_pipeline)
    wdn_fuzz_target(pipeline_bearer SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_pipeline_bearer.c
        DEPS wdn_pipeline)
endif()
