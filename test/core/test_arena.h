// Memory for the core in unit tests, as a PostgreSQL memory context gives it: blocks are
// released one by one or all together when the arena goes, so LeakSanitizer reports only what
// the code under test really loses.
#pragma once

#include <cstdlib>
#include <mutex>
#include <set>

#include "core/index/memory.h"

class TestArena {
  public:
    TestArena() = default;
    TestArena(const TestArena &) = delete;
    TestArena &operator=(const TestArena &) = delete;
    ~TestArena() {
        for (void *block : blocks_) std::free(block);
    }
    vs::Allocator allocator() {
        return {[](void *self, std::size_t bytes) noexcept -> void * {
                    void *p = std::malloc(bytes);
                    if (!p) std::abort();
                    auto *arena = static_cast<TestArena *>(self);
                    std::lock_guard<std::mutex> guard(arena->mutex_);
                    arena->blocks_.insert(p);
                    return p;
                },
                [](void *self, void *block) noexcept {
                    auto *arena = static_cast<TestArena *>(self);
                    std::lock_guard<std::mutex> guard(arena->mutex_);
                    arena->blocks_.erase(block);
                    std::free(block);
                },
                this};
    }

  private:
    std::mutex mutex_;
    std::set<void *> blocks_;
};
