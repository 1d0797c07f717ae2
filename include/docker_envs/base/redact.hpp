// Keeping secrets out of what is printed: the one home of URL redaction. Every URL, channel or
// image reference shown in a message or log goes through redact_url(); what is recorded in an
// environment goes through strip_credentials().
#pragma once

#include <string>
#include <string_view>

namespace de {

// Replaces the secrets of a URL with "***" for display: the password of "user:<pw>@", conda
// tokens ("/t/<token>/"), and the values of query parameters that carry credentials
// ("?token=", "access_token", "sig", "signature", "password", "X-Amz-Signature", ...: see
// is_secret_query_key). Anything else is kept as it is.
std::string redact_url(std::string_view url);

// An image reference or URL as it may be shown: as redact_url(), also for a reference without a
// scheme whose authority carries credentials ("user:pw@host/repo:tag" -> "user:***@host/repo:tag").
std::string redact_reference(std::string_view text);

// Whether a query parameter named `key` carries a credential (case-insensitive): token,
// access_token, refresh_token, id_token, auth, sig, signature, password, passwd, pwd, secret,
// client_secret, api_key, apikey, key, and the signing parameters of cloud storage URLs
// (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, X-Goog-Signature, X-Goog-Credential).
bool is_secret_query_key(std::string_view key);

// Removes credentials from a URL, as conda does for what it records: the "/t/<token>" path segment
// and the "user:password@" part go, leaving a URL that still names the package
// ("https://u:pw@host/t/abc/chan/x.conda" -> "https://host/chan/x.conda"). Used for every URL and
// channel written into an environment (conda-meta records, history), which may end up in an image.
std::string strip_credentials(std::string_view url);

}  // namespace de
