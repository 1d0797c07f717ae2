// An independent check of a solver's answer, for the solver tests: does a set of package records
// satisfy a request under conda's match-spec semantics?
//
// Written apart from the solver (it shares only MatchSpec/Version, which have their own tests and
// their own differential test against rattler), so a solver bug cannot hide behind a validator
// built from the same code. It checks, and reports every violation in conda terms:
//   * at most one record per package name (virtual packages included);
//   * every requested spec is satisfied by an installed record of its name;
//   * every `depends` entry of every installed record is satisfied by an installed record (or a
//     virtual package);
//   * every `constrains` entry holds: when a record of its name is installed, it matches;
//   * every installed record was pulled in: reachable from the requested specs through depends;
//   * (when the available records are given) every installed record is one of them, field for
//     field (name, version, build, build number, subdir, channel).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "docker_envs/conda/match_spec.hpp"
#include "docker_envs/conda/package_record.hpp"
#include "docker_envs/conda/version.hpp"

namespace de::conda::test {

struct ValidationRequest {
  std::vector<std::string> specs;                         // requested match specs
  std::vector<PackageRecord> virtual_packages;            // treated as installed, never reported
  const std::vector<PackageRecord>* available = nullptr;  // optional: the records to pick from
};

namespace validator_detail {

inline std::string describe(const PackageRecord& r) {
  return r.name + " " + r.version + " " + r.build +
         (r.channel.empty() ? "" : " (" + r.channel + ")");
}

// A record with its parsed version, matched against specs.
struct Candidate {
  const PackageRecord* record;
  Version version;
  bool is_virtual;

  bool matches(const MatchSpec& spec) const {
    PackageRecordView view{.name = record->name,
                           .version = &version,
                           .build = record->build,
                           .build_number = record->build_number,
                           .channel = record->channel,
                           .subdir = record->subdir,
                           .md5 = {},
                           .sha256 = {},
                           .license = record->license,
                           .fn = record->fn,
                           .url = record->url,
                           .track_features = record->track_features};
    std::string md5 = record->md5 ? record->md5->hex() : std::string();
    std::string sha = record->sha256 ? record->sha256->hex() : std::string();
    view.md5 = md5;
    view.sha256 = sha;
    return spec.matches(view);
  }
};

}  // namespace validator_detail

// Returns the violations (empty when the solution is valid).
inline std::vector<std::string> validate_solution(const std::vector<PackageRecord>& solution,
                                                  const ValidationRequest& request) {
  using validator_detail::Candidate;
  using validator_detail::describe;
  std::vector<std::string> problems;

  std::map<std::string, std::vector<Candidate>> by_name;
  auto add = [&](const PackageRecord& r, bool is_virtual) {
    auto v = Version::parse(r.version);
    if (!v) {
      problems.push_back("installed " + describe(r) +
                         " has an invalid version: " + v.error().message());
      return;
    }
    by_name[r.name].push_back(Candidate{&r, *v, is_virtual});
  };
  for (const PackageRecord& r : request.virtual_packages) add(r, true);
  for (const PackageRecord& r : solution) add(r, false);

  for (const auto& [name, records] : by_name) {
    if (records.size() > 1) {
      std::string list;
      for (const Candidate& c : records) list += (list.empty() ? "" : ", ") + describe(*c.record);
      problems.push_back("more than one record of " + name + " installed: " + list);
    }
  }

  // The installed records a spec is satisfied by (its name may be a glob).
  auto satisfiers = [&](const MatchSpec& spec) {
    std::vector<const Candidate*> out;
    if (spec.name().is_exact()) {
      auto it = by_name.find(spec.name().to_string());
      if (it != by_name.end())
        for (const Candidate& c : it->second)
          if (c.matches(spec)) out.push_back(&c);
      return out;
    }
    for (const auto& [name, records] : by_name)
      for (const Candidate& c : records)
        if (c.matches(spec)) out.push_back(&c);
    return out;
  };

  // What a spec pulls in: every installed record of its name (matching or not, so that a
  // violation is not reported twice), or the records a glob name matches.
  std::set<const PackageRecord*> reached;
  std::vector<const PackageRecord*> queue;
  auto reach = [&](const MatchSpec& spec) {
    std::vector<const Candidate*> found;
    if (spec.name().is_exact()) {
      if (auto it = by_name.find(spec.name().to_string()); it != by_name.end())
        for (const Candidate& c : it->second) found.push_back(&c);
    } else {
      found = satisfiers(spec);
    }
    for (const Candidate* c : found)
      if (!c->is_virtual && reached.insert(c->record).second) queue.push_back(c->record);
  };

  for (const std::string& text : request.specs) {
    auto spec = MatchSpec::parse(text);
    if (!spec) {
      problems.push_back("requested spec '" + text + "' does not parse: " + spec.error().message());
      continue;
    }
    if (satisfiers(*spec).empty())
      problems.push_back("requested '" + text + "' is not satisfied by any installed record");
    reach(*spec);
  }

  for (const auto& [name, records] : by_name) {
    for (const Candidate& c : records) {
      if (c.is_virtual) continue;
      const PackageRecord& r = *c.record;
      for (const std::string& text : r.depends) {
        auto spec = MatchSpec::parse(text);
        if (!spec) {
          problems.push_back(describe(r) + " depends on '" + text + "', which does not parse");
          continue;
        }
        if (satisfiers(*spec).empty()) {
          std::string have;
          if (spec->name().is_exact()) {
            auto it = by_name.find(spec->name().to_string());
            if (it != by_name.end())
              for (const Candidate& o : it->second) have += " " + describe(*o.record);
          }
          problems.push_back(
              describe(r) + " depends on '" + text + "', not satisfied" +
              (have.empty() ? " (nothing of that name installed)" : " (installed:" + have + ")"));
        }
      }
      for (const std::string& text : r.constrains) {
        auto spec = MatchSpec::parse(text);
        if (!spec) {
          problems.push_back(describe(r) + " constrains '" + text + "', which does not parse");
          continue;
        }
        for (const auto& [other_name, others] : by_name) {
          if (!spec->name().matches(other_name)) continue;
          for (const Candidate& o : others)
            if (!o.matches(*spec))
              problems.push_back(describe(r) + " constrains '" + text +
                                 "', violated by installed " + describe(*o.record));
        }
      }
    }
  }

  // Reachability from the requested specs through depends.
  while (!queue.empty()) {
    const PackageRecord* r = queue.back();
    queue.pop_back();
    for (const std::string& text : r->depends)
      if (auto spec = MatchSpec::parse(text)) reach(*spec);
  }
  for (const PackageRecord& r : solution)
    if (!reached.count(&r))
      problems.push_back(describe(r) + " is installed but nothing requested depends on it");

  if (request.available) {
    for (const PackageRecord& r : solution) {
      bool known = false;
      for (const PackageRecord& a : *request.available) {
        if (a.name == r.name && a.version == r.version && a.build == r.build &&
            a.build_number == r.build_number && a.subdir == r.subdir && a.channel == r.channel) {
          known = true;
          break;
        }
      }
      if (!known)
        problems.push_back(describe(r) + " (" + r.subdir + ") is not one of the available records");
    }
  }
  return problems;
}

}  // namespace de::conda::test
