// Package page is what every server-rendered HTML page of Roost shares:
// the operator and tenant dashboards (api/admin), the signup portal
// (api/portal) and the OAuth sign-in and consent page (api/oauth). Each
// rule a page must keep is written once here, so a fix reaches them all:
//
//   - cookies (cookies.go): one name scheme and one attribute policy, and
//     session cookies that hold opaque random tokens the stores keep
//     hashed;
//   - CSRF (csrf.go): one double-submitted token, one cookie lifetime,
//     one constant-time check, a new token at every sign-in and sign-out;
//   - rendering (render.go): the fields every template gets (Page), an
//     area's one inline style allowed by hash, and the headers every page
//     sends;
//   - error pages (errors.go): one template for every 4xx and 5xx with
//     the request id to quote, and one mapping from an error to what the
//     page may say;
//   - time formatting for people (format.go).
//
// The app-wide header policy, httpx.SecureHeaders, stays applied to every
// response by api's observe; Render applies it as well, so a page keeps
// it however it is mounted.
package page
