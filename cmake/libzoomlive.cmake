# libzoomlive: the C core, the binding and the whole Lua layer (bundled), as
# a shared and a static library for host applications, with zoomlive.pc.
# It holds no Lua core: the lua_* symbols stay undefined and come from the
# host's Lua (never link liblua into it: two Lua cores in one process
# corrupt memory).

if(POLICY CMP0113)   # the bundling rule runs once, in zoomlive_bundle, not per library
  cmake_policy(SET CMP0113 NEW)
endif()

# every lua/zoomlive/**/*.lua, re-globbed at build time (CONFIGURE_DEPENDS)
file(GLOB_RECURSE ZOOMLIVE_LUA_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/lua/zoomlive/*.lua)
set(ZOOMLIVE_BUNDLE_C ${CMAKE_BINARY_DIR}/generated/lzl_bundle.c)
# the list itself, rewritten only when it changes: a removed file rebundles too
string(REPLACE ";" "\n" ZOOMLIVE_LUA_LIST "${ZOOMLIVE_LUA_FILES}")
file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/generated/lua_files.txt CONTENT "${ZOOMLIVE_LUA_LIST}\n")
add_custom_command(OUTPUT ${ZOOMLIVE_BUNDLE_C}
  COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR}/lua -DOUT=${ZOOMLIVE_BUNDLE_C}
          -P ${CMAKE_SOURCE_DIR}/cmake/embed_lua.cmake
  DEPENDS ${ZOOMLIVE_LUA_FILES} ${CMAKE_BINARY_DIR}/generated/lua_files.txt
          ${CMAKE_SOURCE_DIR}/cmake/embed_lua.cmake
  COMMENT "Bundling lua/zoomlive into libzoomlive")
add_custom_target(zoomlive_bundle DEPENDS ${ZOOMLIVE_BUNDLE_C})   # one generator for both

set(ZOOMLIVE_LIB_SOURCES ${ZOOMLIVE_CORE_SOURCES} ${ZOOMLIVE_BINDING_SOURCES}
    csrc/lzl_preload.c ${ZOOMLIVE_BUNDLE_C})

add_library(zoomlive_shared SHARED ${ZOOMLIVE_LIB_SOURCES})
add_library(zoomlive_static STATIC ${ZOOMLIVE_LIB_SOURCES})
foreach(t zoomlive_shared zoomlive_static)
  target_include_directories(${t} PRIVATE csrc ${LUA_INCDIR})
  target_compile_definitions(${t} PRIVATE ZOOMLIVE_BUILDING
    ZOOMLIVE_VERSION_STRING="${PROJECT_VERSION}")
  target_link_libraries(${t} PRIVATE CURL::libcurl OpenSSL::Crypto)
  set_target_properties(${t} PROPERTIES OUTPUT_NAME zoomlive C_VISIBILITY_PRESET hidden
    ARCHIVE_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)
endforeach()
find_package(Threads REQUIRED)
target_link_libraries(zoomlive_shared PRIVATE Threads::Threads m)
add_dependencies(zoomlive_shared zoomlive_bundle)
add_dependencies(zoomlive_static zoomlive_bundle)
set_target_properties(zoomlive_shared PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION 0)
target_link_options(zoomlive_shared PRIVATE -Wl,--as-needed)
if(APPLE)
  target_link_options(zoomlive_shared PRIVATE -undefined dynamic_lookup)
endif()

# zoomlive.pc: a program linking libzoomlive links a Lua of its own
find_package(PkgConfig QUIET)
set(ZOOMLIVE_PC_LUA "")
if(PKG_CONFIG_FOUND)
  foreach(name lua5.4 lua-5.4 lua54 lua)
    pkg_check_modules(ZL_PC_${name} QUIET ${name}>=5.4)
    if(ZL_PC_${name}_FOUND)
      set(ZOOMLIVE_PC_LUA ${name})
      break()
    endif()
  endforeach()
endif()
file(RELATIVE_PATH ZOOMLIVE_PC_UP "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" ZOOMLIVE_PC_UP "${ZOOMLIVE_PC_UP}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/zoomlive.pc.in ${CMAKE_BINARY_DIR}/zoomlive.pc @ONLY)

install(TARGETS zoomlive_shared zoomlive_static
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_BINARY_DIR}/zoomlive.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
