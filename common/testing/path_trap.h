// A folder tree for tests of request paths confined to a run folder: the run folder (the
// service's root) holding things a hostile request might aim at, beside a folder outside it
// that nothing may touch.
//
//   <base>/run/data/prompts.jsonl   a user's data folder (not a checkpoint)
//   <base>/run/escape -> outside    a link that points out
//   <base>/run/fifo                 a FIFO
//   <base>/outside/canary.txt       must stay as it is, alone unless the test adds to it
//
// The tree is removed on destruction.
#ifndef REIN_COMMON_TESTING_PATH_TRAP_H_
#define REIN_COMMON_TESTING_PATH_TRAP_H_

#include <filesystem>
#include <set>
#include <string>

namespace rein::testing {

struct PathTrap {
  PathTrap();
  ~PathTrap();
  PathTrap(const PathTrap&) = delete;
  PathTrap& operator=(const PathTrap&) = delete;

  // The names in outside/ now.
  std::set<std::string> OutsideEntries() const;
  // Whether canary.txt and data/prompts.jsonl still hold what they were made with.
  bool Intact() const;

  std::filesystem::path base;  // resolved (no links)
  std::filesystem::path run;
  std::filesystem::path outside;
};

}  // namespace rein::testing

#endif  // REIN_COMMON_TESTING_PATH_TRAP_H_
