# libFuzzer targets of src/resources and src/policy: the YAML loader with every kind and the
# policy compilers behind it, and ACL path normalisation/evaluation.
if(TARGET wdn_policy)
    wdn_fuzz_target(yaml_resources SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_yaml_resources.c
        DEPS wdn_policy)
    wdn_fuzz_target(yaml_acl SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_yaml_acl.c DEPS wdn_policy)
endif()
