# import: the parser of imported collaborator lists (api/import.c, docs/design.md §4),
# included by api/CMakeLists.txt. It reads .csv with libcsv (which ships no pkg-config file on
# Debian: found by header and library), .xls with freexl, .xlsx with libzip and libxml2.
find_path(LIBCSV_INCLUDE_DIR csv.h REQUIRED)
find_library(LIBCSV_LIBRARY csv REQUIRED)
pkg_check_modules(FREEXL REQUIRED IMPORTED_TARGET freexl)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
pkg_check_modules(LIBXML2 REQUIRED IMPORTED_TARGET libxml-2.0)

# import_deps: what import.c needs to compile and link. The fuzz target (tests/fuzz) compiles
# import.c itself, with the fuzzer's instrumentation, and links this.
add_library(import_deps INTERFACE)
target_include_directories(import_deps INTERFACE ${CMAKE_CURRENT_LIST_DIR} ${LIBCSV_INCLUDE_DIR})
target_link_libraries(import_deps INTERFACE ${LIBCSV_LIBRARY} PkgConfig::FREEXL PkgConfig::LIBZIP
                                            PkgConfig::LIBXML2)

add_library(import STATIC ${CMAKE_CURRENT_LIST_DIR}/import.c)
target_link_libraries(import PUBLIC import_deps)
