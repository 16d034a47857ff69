# Included after every project() call of the llama-cpp-python build (CMAKE_PROJECT_INCLUDE).
# llama-cpp-python forces llama.cpp's common library on and installs it, but only the
# multimodal library (LLAVA_BUILD=OFF here) links it, and the Python package never loads it:
# build it, and the HTTP client it links, from an empty source. That is about half of the
# compile time (docs/performance.md, "The test command").
if(PROJECT_NAME STREQUAL "llama.cpp")
  function(qa_empty_unused_targets)
    set(empty "${CMAKE_BINARY_DIR}/qa-empty.cpp")
    file(WRITE "${empty}" "// Left empty by qa's build: nothing loads this library.\n")
    foreach(target llama-common llama-common-base cpp-httplib)
      if(TARGET ${target})
        set_property(TARGET ${target} PROPERTY SOURCES "${empty}")
        set_property(TARGET ${target} PROPERTY LINK_LIBRARIES "")
      endif()
    endforeach()
  endfunction()
  cmake_language(DEFER DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" CALL qa_empty_unused_targets)
endif()
