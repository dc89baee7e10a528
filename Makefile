# vectorsearch: PGXS build of a C++17 core (src/core) and its PostgreSQL glue (src/pg).
EXTENSION = vectorsearch
MODULE_big = vectorsearch
DATA = vectorsearch--0.1.0.sql

CORE_SRCS = $(wildcard src/core/*.cpp)
PG_SRCS = $(wildcard src/pg/*.cpp)
OBJS = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)
SRC_HEADERS = $(wildcard src/core/*.h src/pg/*.h)

REGRESS = vector_io vector_casts vector_ops vector_functions vector_aggregates vector_btree vector_copy vector_errors hnsw
REGRESS_OPTS = --inputdir=. --outputdir=. --load-extension=$(EXTENSION)

# No -march=native: kernels pick their instruction set at run time (src/core/distance.cpp).
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -fno-strict-aliasing
PG_CPPFLAGS = -Isrc
SHLIB_LINK = -lstdc++

# The JIT's bitcode would need clang++ and buys nothing for these functions.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(OBJS): $(SRC_HEADERS)

# GoogleTest suite of the core alone: no PostgreSQL headers, no server.
GTEST_SRCS = $(wildcard test/core/*.cc)
test/core/unittests: $(GTEST_SRCS) $(CORE_SRCS) $(wildcard src/core/*.h)
	$(CXX) -std=c++17 -O2 -g -Wall -Wextra -Isrc/core -o $@ $(GTEST_SRCS) $(CORE_SRCS) -lgtest -lgtest_main -pthread

.PHONY: unittest
unittest: test/core/unittests
	test/core/unittests

EXTRA_CLEAN = test/core/unittests results regression.diffs regression.out
