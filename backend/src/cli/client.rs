//! The HTTP client side of the CLI: where the server is and who we are (`myelin login`, or `MYELIN_URL` +
//! `MYELIN_TOKEN`), and one way to call the API and report its errors.

use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The server, e.g. http://127.0.0.1:8000
    #[arg(long, env = "MYELIN_URL", default_value = "http://127.0.0.1:8000")]
    pub url: String,
    /// An API token; without it, asks for username and password and creates one.
    #[arg(long)]
    pub token: Option<String>,
    #[arg(long)]
    pub username: Option<String>,
    /// Read the password from standard input instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    url: Option<String>,
    token: Option<String>,
}

fn config_path() -> PathBuf {
    std::env::var_os("MYELIN_CONFIG").map(PathBuf::from).unwrap_or_else(|| {
        dirs::config_dir().unwrap_or_else(|| PathBuf::from(".")).join("myelin").join("config.toml")
    })
}

fn load_saved() -> Saved {
    std::fs::read_to_string(config_path()).ok().and_then(|s| toml::from_str(&s).ok()).unwrap_or_default()
}

pub struct Client {
    url: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    /// A client of the server at `url` acting with `token`.
    pub fn new(url: &str, token: &str) -> Self {
        Self { url: url.trim_end_matches('/').into(), token: token.into(), http: reqwest::Client::new() }
    }

    /// From `MYELIN_URL`/`MYELIN_TOKEN`, else the file `myelin login` wrote.
    pub fn from_env() -> Result<Self, String> {
        let saved = load_saved();
        let url =
            std::env::var("MYELIN_URL").ok().or(saved.url).unwrap_or_else(|| "http://127.0.0.1:8000".into());
        let token = std::env::var("MYELIN_TOKEN")
            .ok()
            .or(saved.token)
            .ok_or("not logged in: run `myelin login` or set MYELIN_URL and MYELIN_TOKEN")?;
        Ok(Self { url: url.trim_end_matches('/').into(), token, http: reqwest::Client::new() })
    }

    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, String> {
        self.call_with_query(method, path, &[], body).await
    }

    pub async fn call_with_query<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<T, String> {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.url))
            .query(query)
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| self.unreachable(&e))?;
        decode(resp).await
    }

    /// A request to `/api/v1{path}` as the logged-in user, to send with [`Client::send`].
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}/api/v1{path}", self.url)).bearer_auth(&self.token)
    }

    /// Sends `req`; a failure to reach the server is said in words that name the fix.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, String> {
        req.send().await.map_err(|e| self.unreachable(&e))
    }

    /// Why the server could not be reached, and what to do about it.
    fn unreachable(&self, e: &reqwest::Error) -> String {
        use crate::reach::{chain, classify, first_line, proxy_from_env, Unreachable};
        let text = chain(e);
        let url = &self.url;
        let why = match classify(&text, proxy_from_env()) {
            Some(Unreachable::Dns) => format!(
                "cannot resolve the host of {url}: check the address (MYELIN_URL, or `myelin login --url`) and this \
                 machine's DNS"
            ),
            Some(Unreachable::Proxy { var, url: proxy }) => format!(
                "cannot reach {url} through the proxy {var}={proxy}: if the server is inside your network, add its \
                 host to NO_PROXY; otherwise fix the proxy"
            ),
            Some(Unreachable::Refused) => format!(
                "nothing answers at {url}: is the server running (`myelin serve`), and is MYELIN_URL (or `myelin \
                 login --url`) its address?"
            ),
            Some(Unreachable::Timeout) => {
                format!("{url} did not answer in time: check the network to it (a firewall, VPN or proxy)")
            }
            Some(Unreachable::Tls) => format!(
                "the TLS certificate of {url} is not trusted here: use the host name it was issued for, or ask \
                 the operator for a certificate from a trusted authority"
            ),
            _ => format!("cannot reach {url}"),
        };
        format!("{why} ({})", first_line(&text))
    }
}

impl Client {
    /// A successful GET response with `query`, or the server's error.
    pub(crate) async fn get_ok(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<reqwest::Response, String> {
        let resp = self.send(self.request(Method::GET, path).query(query)).await?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(decode::<Value>(resp).await.err().unwrap_or_else(|| "unexpected answer".into()))
        }
    }

    /// A response body as text (logs).
    pub async fn text(&self, path: &str) -> Result<String, String> {
        self.get_ok(path, &[]).await?.text().await.map_err(|e| e.to_string())
    }

    /// A streaming response (server-sent events).
    pub async fn stream(&self, path: &str) -> Result<reqwest::Response, String> {
        self.get_ok(path, &[]).await
    }
}

/// The server's answer as `T`, or its error in words (a refused token says how to get a new one).
pub async fn decode<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, String> {
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        let text = if status == StatusCode::NO_CONTENT || text.is_empty() { "null" } else { &text };
        return serde_json::from_str(text).map_err(|e| format!("unexpected answer from server: {e}"));
    }
    match serde_json::from_str::<crate::error::ErrorBody>(&text) {
        Ok(e) if e.error == "invalid_token" || e.error == "unauthenticated" => Err(format!(
            "{} ({}): run `myelin login` again, or set MYELIN_TOKEN to a valid token",
            e.message, e.error
        )),
        Ok(e) => Err(format!("{} ({})", e.message, e.error)),
        Err(_) => Err(format!("server answered {status}")),
    }
}

pub async fn login(args: LoginArgs) -> Result<(), String> {
    let url = args.url.trim_end_matches('/').to_string();
    let token = match args.token {
        Some(t) => t,
        None => {
            let username = match args.username {
                Some(u) => u,
                None => prompt("username: ")?,
            };
            let password = if args.password_stdin {
                let mut s = String::new();
                std::io::stdin().read_line(&mut s).map_err(|e| e.to_string())?;
                s.trim_end_matches(['\n', '\r']).to_string()
            } else {
                rpassword::prompt_password("password: ").map_err(|e| e.to_string())?
            };
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "this machine".into());
            let body = serde_json::json!({"username": username, "password": password, "token_name": format!("myelin cli on {host}")});
            let anonymous = Client { url: url.clone(), token: String::new(), http: reqwest::Client::new() };
            let resp =
                anonymous.send(anonymous.http.post(format!("{url}/api/v1/auth/login")).json(&body)).await?;
            let r: crate::api::accounts::LoginResponse = decode(resp).await?;
            r.token.ok_or("server returned no token")?
        }
    };
    let client = Client { url: url.clone(), token: token.clone(), http: reqwest::Client::new() };
    let me: crate::services::accounts::UserInfo = client.call(Method::GET, "/user", None).await?;
    let path = config_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let saved =
        toml::to_string(&Saved { url: Some(url.clone()), token: Some(token) }).map_err(|e| e.to_string())?;
    write_private(&path, &saved)?;
    println!("logged in to {url} as {}", me.username);
    Ok(())
}

fn prompt(label: &str) -> Result<String, String> {
    use std::io::Write;
    print!("{label}");
    std::io::stdout().flush().ok();
    let mut s = String::new();
    std::io::stdin().read_line(&mut s).map_err(|e| e.to_string())?;
    Ok(s.trim().to_string())
}

/// The saved token is a secret: the file is readable by its owner only.
fn write_private(path: &std::path::Path, content: &str) -> Result<(), String> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(content.as_bytes()).map_err(|e| e.to_string())
}
