//! What more than one benchmark needs: signing in over HTTP as a browser does.

/// The password of every account a benchmark creates.
pub const PASSWORD: &str = "load-benchmark-password";

/// Signs in through the sign-in form (CSRF double-submit cookie and all) and returns the cookies a
/// browser would send afterwards.
pub async fn sign_in(base: &str, username: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let page = client
        .get(format!("{base}/sign-in"))
        .send()
        .await
        .expect("the sign-in page");
    let csrf = cookie(&page, "careweave_csrf").expect("a CSRF cookie");
    let body = page.text().await.expect("the sign-in page");
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker).expect("a CSRF field") + marker.len();
    let token = &body[start..start + body[start..].find('"').expect("the field ends")];
    let r = client
        .post(format!("{base}/sign-in"))
        .header("cookie", format!("careweave_csrf={csrf}"))
        .form(&[
            ("csrf_token", token),
            ("username", username),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("signing in");
    assert_eq!(r.status(), 303, "{username} signs in");
    let session = cookie(&r, "careweave_session").expect("a session cookie");
    format!("careweave_session={session}; careweave_csrf={csrf}")
}

fn cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}
