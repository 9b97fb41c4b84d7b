// Limits every Rein RPC checks at its edge, before it allocates or starts any work, and the one
// place that checks them. A string a client sends (an id, a name, an address, a path, a key) has
// a length limit and a character set; a call that fans out to a list of targets or carries a
// list of items has a count limit. Errors name the field and the limit, and quote at most
// kQuotedPrefixBytes of the offending value, escaped, so that a hostile value never floods a log
// or a reply.
//
// The README's "Request limits" table lists these with the reasons; keep the two in step.
//
// Thread safety: stateless functions.
#ifndef REIN_COMMON_RPC_REQUEST_LIMITS_H_
#define REIN_COMMON_RPC_REQUEST_LIMITS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace rein::rpc {

// Ids a client chooses or echoes: worker ids, campaign and annotator ids, item external ids.
// 128 bytes holds a host name plus a suffix ("rollout-gpu-node-017.cluster.local-3") with room
// to spare; ids are stored and logged with every registration and judgement.
inline constexpr size_t kMaxIdBytes = 128;
// Human-readable names (campaigns, annotators) and "id or name" references to them. 200 bytes
// is what the feedback store has always accepted for an annotator's name.
inline constexpr size_t kMaxNameBytes = 200;
// host:port (or a gRPC target such as "unix:/run/rein.sock" or "ipv6:[::1]:5000"). A DNS name
// is at most 253 bytes; with a scheme, brackets and a port 300 bytes is ample.
inline constexpr size_t kMaxAddressBytes = 300;
// Folders: PATH_MAX on Linux; the kernel refuses longer paths anyway.
inline constexpr size_t kMaxPathBytes = 4096;
// Key-value store keys (c10d/Gloo rendezvous keys such as "rein/joined/3"), as the store has
// always bounded them.
inline constexpr size_t kMaxKeyBytes = 1024;
// How much of an offending value an error quotes (escaped, so at most 4x this on the wire).
inline constexpr size_t kQuotedPrefixBytes = 32;

// Fan-out and list sizes.
// Rollout replicas one PushWeights streams to: each push holds a stream and a thread per
// replica; 1024 replicas is far beyond any run, and far below what a hostile list could ask.
inline constexpr int kMaxPushTargets = 1024;
// Campaigns pooled by one RateVersions (one per round of a run; each is loaded whole).
inline constexpr int kMaxCampaignsPerCall = 1024;
// Items in one AddItems call (every item is validated and stored in one transaction).
inline constexpr int kMaxItemsPerCall = 10000;
// Bytes of JSON lines in one Import call (it is parsed whole, in memory).
inline constexpr size_t kMaxImportBytes = size_t{64} << 20;

// What a string field may hold.
enum class StringKind {
  // [A-Za-z0-9._:@+=/-], like a host name or a file name without spaces.
  kId,
  // Valid UTF-8 without control characters (C0, DEL, C1): spaces and any script are fine.
  kName,
  // [A-Za-z0-9._:@%/\[\]-]: host:port, IPv6 in brackets, gRPC schemes.
  kAddress,
  // Valid UTF-8 without control characters; a file system path.
  kPath,
  // Printable ASCII (0x21..0x7e): no spaces, no control characters.
  kKey,
};

// The field's value escaped and cut to kQuotedPrefixBytes: "'abc'" or "'abc...' (4096 bytes)".
std::string QuotePrefix(absl::string_view value);

// OK if `value` is 1..max_bytes long (or empty, when allow_empty) and holds only characters of
// `kind`; otherwise INVALID_ARGUMENT naming `field`, the limit or the character at fault, and a
// quoted prefix of the value.
absl::Status CheckString(absl::string_view field, absl::string_view value, StringKind kind,
                         size_t max_bytes, bool allow_empty = false);

// The common cases, with their limits above.
absl::Status CheckId(absl::string_view field, absl::string_view value, bool allow_empty = false);
absl::Status CheckName(absl::string_view field, absl::string_view value, bool allow_empty = false);
absl::Status CheckAddress(absl::string_view field, absl::string_view value);
absl::Status CheckPath(absl::string_view field, absl::string_view value, bool allow_empty = false);
absl::Status CheckKey(absl::string_view field, absl::string_view value);

// RESOURCE_EXHAUSTED naming `field` when count > max.
absl::Status CheckCount(absl::string_view field, int64_t count, int64_t max);

}  // namespace rein::rpc

#endif  // REIN_COMMON_RPC_REQUEST_LIMITS_H_
