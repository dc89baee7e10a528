# vectorsearch: PGXS build of a C++17 core (src/core) and its PostgreSQL glue (src/pg).
EXTENSION = vectorsearch
MODULE_big = vectorsearch
DATA = vectorsearch--0.1.0.sql vectorsearch--0.1.0--0.2.0.sql

CORE_SRCS = $(wildcard src/core/*/*.cpp)
PG_SRCS = $(wildcard src/pg/*.cpp src/pg/*/*.cpp)
OBJS = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)
SRC_HEADERS = $(wildcard src/core/*/*.h src/pg/*.h src/pg/*/*.h)

REGRESS = vector_io vector_casts vector_ops vector_functions vector_aggregates vector_btree vector_copy vector_errors halfvec sparsevec bit hnsw hnsw_types hnsw_sparse hnsw_scan_settings hnsw_vacuum hnsw_vacuum_io hnsw_monitoring hnsw_limit index_pages extension_upgrade hnsw_check lsh lsh_scan_settings lsh_vacuum
REGRESS_OPTS = --inputdir=. --outputdir=. --load-extension=$(EXTENSION)

# No -march=native: kernels pick their instruction set at run time (src/core/kernels/distance.cpp).
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -fno-strict-aliasing
PG_CPPFLAGS = -Isrc

# Test builds (scripts/test) add the pause and fault points of src/pg/test_hooks.h, through which
# the TAP tests force an interleaving; the shipped build has none of them. The flag is recorded
# in a stamp file so that switching it rebuilds every object.
ifeq ($(VS_TEST_HOOKS),1)
PG_CPPFLAGS += -DVS_TEST_HOOKS
endif
BUILD_FLAGS_STAMP = .build-flags
$(shell echo 'VS_TEST_HOOKS=$(VS_TEST_HOOKS)' | cmp -s - $(BUILD_FLAGS_STAMP) || echo 'VS_TEST_HOOKS=$(VS_TEST_HOOKS)' > $(BUILD_FLAGS_STAMP))
SHLIB_LINK = -lstdc++

# The JIT's bitcode would need clang++ and buys nothing for these functions.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The pgvector alias (vector.control): installed beside vectorsearch unless pgvector itself is
# installed, whose vector.control must not be overwritten (it does not mention vectorsearch), or
# VECTOR_ALIAS=no says not to (a package built with DESTDIR cannot see what the target has).
VECTOR_ALIAS ?= yes
VECTOR_ALIAS_FILES = $(addprefix $(srcdir)/, vector.control vector--0.8.6.sql)
VECTOR_CONTROL = '$(DESTDIR)$(datadir)/extension/vector.control'
install: install-vector-alias
.PHONY: install-vector-alias uninstall-vector-alias
install-vector-alias: installdirs
	@if [ '$(VECTOR_ALIAS)' != yes ]; then \
		:; \
	elif [ -f $(VECTOR_CONTROL) ] && ! grep -q vectorsearch $(VECTOR_CONTROL); then \
		echo "pgvector's vector extension is installed: the vector alias of vectorsearch is not"; \
	else \
		$(INSTALL_DATA) $(VECTOR_ALIAS_FILES) '$(DESTDIR)$(datadir)/extension/'; \
	fi
uninstall: uninstall-vector-alias
uninstall-vector-alias:
	@if [ -f $(VECTOR_CONTROL) ] && grep -q vectorsearch $(VECTOR_CONTROL); then \
		rm -f '$(DESTDIR)$(datadir)/extension/vector.control' '$(DESTDIR)$(datadir)/extension/vector--0.8.6.sql'; \
	fi

$(OBJS): $(SRC_HEADERS) $(BUILD_FLAGS_STAMP)

# GoogleTest suite of the core alone: no PostgreSQL headers, no server.
GTEST_SRCS = $(wildcard test/core/*.cc)
# The list of test sources is recorded too: a test file removed must relink the suite.
GTEST_SOURCES_STAMP = test/core/.sources
$(shell echo '$(GTEST_SRCS)' | cmp -s - $(GTEST_SOURCES_STAMP) || echo '$(GTEST_SRCS)' > $(GTEST_SOURCES_STAMP))
GTEST_DEPS = $(GTEST_SRCS) $(CORE_SRCS) $(wildcard src/core/*/*.h test/core/*.h) $(GTEST_SOURCES_STAMP)
test/core/unittests: $(GTEST_DEPS)
	$(CXX) -std=c++17 -O2 -g -Wall -Wextra -Isrc -o $@ $(GTEST_SRCS) $(CORE_SRCS) -lgtest -lgtest_main -pthread

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer: an out-of-bounds write
# in the core fails it even where the plain build happens to survive it.
test/core/unittests-asan: $(GTEST_DEPS)
	$(CXX) -std=c++17 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
		-Wall -Wextra -Isrc -o $@ $(GTEST_SRCS) $(CORE_SRCS) -lgtest -lgtest_main -pthread

.PHONY: unittest
unittest: test/core/unittests
	test/core/unittests

EXTRA_CLEAN = test/core/unittests test/core/unittests-asan $(BUILD_FLAGS_STAMP) $(GTEST_SOURCES_STAMP) results regression.diffs regression.out
