// One repodata record, parsed from its JSON object (private to the conda module; repodata.cpp).
// The parallel driver that finds the records of a document and parses them on several threads
// is repodata_parser.cpp.
#pragma once

#include <simdjson.h>

#include <string>

#include "docker_envs/conda/repodata.hpp"

namespace de::conda::detail {

// Why a record was rejected; empty when it is fine.
using Problem = std::string;

// Parses one record object into `r`. Returns the first problem found (the rest of the object is
// skipped by the iterator), or "" on success.
Problem parse_record(simdjson::ondemand::object object, PackageRecord& r);

}  // namespace de::conda::detail
