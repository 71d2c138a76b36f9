# Rights checks and replay at the Order's scale (docs/design.md §6): docs/benchmarks-rights.md.
# Benchmarks print figures and assert no timing: none is registered with ctest.

# bench-rights: proj_can in process and `can` over RPC on 20 000 firms, 100 000 collaborators.
add_executable(bench-rights rights.c)
target_link_libraries(bench-rights PRIVATE bench_common api_common projections ledger nng_lib PkgConfig::LMDB)
# It runs `ledgerd init` and `ledgerd serve` from beside itself.
add_dependencies(bench-rights ledgerd)

# bench-replay: replay, chain verification and raw LMDB iteration of a 1 000 000-event log.
add_executable(bench-replay replay.c)
target_link_libraries(bench-replay PRIVATE bench_common projections ledger PkgConfig::LMDB)
# It asks bench-rights for its log and times the ledger-audit beside it.
add_dependencies(bench-replay bench-rights ledger-audit)
