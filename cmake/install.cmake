# `cmake --install`: the public headers, the module libraries, the docker-envs binary (with its man
# page and bash/zsh/fish completion scripts), a CMake
# package (find_package(docker_envs) -> docker_envs::docker_envs) and a pkg-config file. See
# README.md ("Use as a library"); examples/library is built against the result by
# tests/integration/library_example_test.sh.
#
# The modules stay separate static libraries (libdocker_envs_<module>.a), as in the build tree:
# docker_envs::<module> for a consumer that wants less, docker_envs::docker_envs for all of it.
# Static libraries carry no dependencies of their own, so the package file finds every library the
# modules link (privately included: OpenSSL, libcurl, libarchive, ISA-L, zstd, simdjson, libsolv,
# yaml-cpp) and the exported targets name them as link-only dependencies.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(DE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/docker_envs)
# Dependency order (a static library before the ones it uses), for pkg-config's Libs line.
set(de_installed_modules build registry pypi conda oci ffi base)

foreach(m ${de_installed_modules})
  set_target_properties(de_${m} PROPERTIES OUTPUT_NAME docker_envs_${m} EXPORT_NAME ${m})
endforeach()

# Everything a consumer gets with one name.
add_library(de_all INTERFACE)
set_target_properties(de_all PROPERTIES EXPORT_NAME docker_envs)
target_link_libraries(de_all INTERFACE de_build de_registry de_pypi de_conda de_oci de_base)
add_library(docker_envs::docker_envs ALIAS de_all)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/docker_envs
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
set(de_installed_targets de_all)
foreach(m ${de_installed_modules})
  list(APPEND de_installed_targets de_${m})
endforeach()
install(TARGETS ${de_installed_targets}
        EXPORT docker_envsTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS docker-envs RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Generated from the command table after each link of docker-envs (see CMakeLists.txt): the man
# page, and completion scripts where bash-completion, zsh and fish look for them.
install(FILES ${DE_DOCS_DIR}/docker-envs.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${DE_DOCS_DIR}/docker-envs.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME docker-envs)
install(FILES ${DE_DOCS_DIR}/_docker-envs DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
install(FILES ${DE_DOCS_DIR}/docker-envs.fish
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
install(EXPORT docker_envsTargets
        NAMESPACE docker_envs::
        DESTINATION ${DE_INSTALL_CMAKEDIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/docker_envsConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/docker_envsConfig.cmake
                              INSTALL_DESTINATION ${DE_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/docker_envsConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/docker_envsConfig.cmake
              ${PROJECT_BINARY_DIR}/docker_envsConfigVersion.cmake
        DESTINATION ${DE_INSTALL_CMAKEDIR})

# pkg-config: `pkg-config --cflags --libs docker_envs` (see the comment in docker_envs.pc.in for
# why the C libraries are in Requires).
set(DE_PC_LIBS "")
foreach(m ${de_installed_modules})
  string(APPEND DE_PC_LIBS " -ldocker_envs_${m}")
endforeach()
# Relocatable: the prefix is found from where the .pc file lies (cmake --install --prefix, DESTDIR).
file(RELATIVE_PATH DE_PC_PREFIX_FROM_PCDIR /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" DE_PC_PREFIX_FROM_PCDIR "${DE_PC_PREFIX_FROM_PCDIR}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/docker_envs.pc.in ${PROJECT_BINARY_DIR}/docker_envs.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/docker_envs.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
