// Pause points for tests that must force an interleaving of two sessions (PostgreSQL 15 has no
// injection points). Only a test build (make VS_TEST_HOOKS=1, as scripts/test builds) has them:
// in the shipped build VS_TEST_PAUSE expands to nothing and the GUC does not exist.
//
// A session that sets vectorsearch.test_pause to a list of point names, and reaches one of
// them, waits there for the advisory lock vectorsearch.test_pause_key (held by the test in
// another session), then releases it and goes on. The test sees the waiter in
// pg_locks, does what must happen meanwhile, and lets it go. A pause point holds no buffer lock,
// spin lock or LWLock.
#pragma once

//
// vectorsearch.test_level, when not -1, is the level every new hnsw element of the session
// gets instead of a random draw, so that a test reaches the upper-layer paths for certain.
#ifdef VS_TEST_HOOKS
void vs_test_pause(const char *point);
int vs_test_level(int drawn);
void vs_test_hooks_init();
#define VS_TEST_PAUSE(point) vs_test_pause(point)
#define VS_TEST_LEVEL(drawn) vs_test_level(drawn)
#else
#define VS_TEST_PAUSE(point) ((void)0)
#define VS_TEST_LEVEL(drawn) (drawn)
#endif
