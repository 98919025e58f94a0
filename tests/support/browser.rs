//! A real browser for the console's tests: Debian's Chromium, headless, driven over W3C
//! WebDriver by its chromedriver (`HELPLINE_CHROMEDRIVER`, `HELPLINE_CHROMIUM`, set by
//! `scripts/test`, which installs them). Without them the test is skipped outside CI and fails
//! under `CI=true`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

/// The key W3C WebDriver names an element by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A browser session; the browser and its driver stop when dropped.
pub struct Browser {
    driver: Child,
    url: String,
    profile: crate::TempDir,
    agent: ureq::Agent,
}

fn tool(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from(fallback)).filter(|p| p.exists()))
}

impl Browser {
    /// Starts Chromium at 1280 × 900; `None` (skipped) without it outside CI.
    pub fn start() -> Option<Browser> {
        let (Some(driver), Some(chromium)) = (
            tool("HELPLINE_CHROMEDRIVER", "/usr/bin/chromedriver"),
            tool("HELPLINE_CHROMIUM", "/usr/bin/chromium"),
        ) else {
            assert!(
                !std::env::var("CI").is_ok_and(|v| v == "true"),
                "CI=true but Chromium or chromedriver is missing: the browser test must run"
            );
            eprintln!("SKIPPED the browser test: no Chromium (scripts/test installs it)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("chromedriver: {e}"));
        let base = format!("http://127.0.0.1:{port}");
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .build();
        let deadline = Instant::now() + Duration::from_secs(30);
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = crate::TempDir(
            std::env::temp_dir().join(format!("hl_chromium_{}", uuid::Uuid::now_v7().simple())),
        );
        // The flags keep a headless Chromium off the network it would otherwise call home on.
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--disable-extensions",
                         "--window-size=1280,900",
                         format!("--user-data-dir={}", profile.0.display())]
            },
            "goog:loggingPrefs": {"browser": "ALL"}
        }}});
        let created: Value = agent
            .post(&format!("{base}/session"))
            .send_json(caps)
            .unwrap_or_else(|e| panic!("new session: {e}"))
            .into_json()
            .unwrap_or_else(|e| panic!("{e}"));
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        let browser = Browser {
            driver: child,
            url: format!("{base}/session/{session}"),
            profile,
            agent,
        };
        // An element looked for is waited for a while: a click's navigation may still be
        // under way when the next step looks.
        browser.call(
            "POST",
            "/timeouts",
            Some(json!({"implicit": 5000, "script": 60000})),
        );
        Some(browser)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let req = self.agent.request(method, &format!("{}{path}", self.url));
        let result = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        let v: Value = match result {
            Ok(r) => r.into_json().unwrap_or(Value::Null),
            Err(ureq::Error::Status(_, r)) => {
                let v: Value = r.into_json().unwrap_or(Value::Null);
                panic!("WebDriver {method} {path}: {}", v["value"]["message"])
            }
            Err(e) => panic!("WebDriver {method} {path}: {e}"),
        };
        v["value"].clone()
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    /// The element `css` selects (panics if none).
    fn find(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().unwrap_or_default().to_owned()
    }

    /// The WebDriver id of the element `css` selects: a page loaded again has new ones.
    pub fn element(&self, css: &str) -> String {
        self.find(css)
    }

    /// Forgets every cookie of the site (as a new browser would have none).
    pub fn forget_cookies(&self) {
        self.call("DELETE", "/cookie", None);
    }

    /// How many elements `css` selects.
    pub fn count(&self, css: &str) -> usize {
        self.call(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .as_array()
        .map_or(0, Vec::len)
    }

    /// Types `text` into the field `css` selects.
    pub fn type_into(&self, css: &str, text: &str) {
        // Whatever is typed into the console (names, addresses, messages, passwords, codes)
        // must never reach the server's logs: the log check looks for it.
        crate::logs::note("typed", text);
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/clear"), Some(json!({})));
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        );
    }

    /// Clicks what `css` selects (see [`Browser::follow`] for one that loads a page).
    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    /// Clicks a link or a button that loads a page, and waits until the new page is there
    /// (a click answers when the browser has taken it, which may be before it navigated).
    pub fn follow(&self, css: &str) {
        let before = self.find("html");
        self.click(css);
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.find("html") == before {
            assert!(Instant::now() < deadline, "clicking {css} loaded no page");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The visible text of what `css` selects.
    pub fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.call("GET", &format!("/element/{e}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page's HTML as the browser holds it.
    pub fn source(&self) -> String {
        self.call("GET", "/source", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page's title.
    pub fn title(&self) -> String {
        self.call("GET", "/title", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The current address.
    pub fn current_url(&self) -> String {
        self.call("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Resizes the window (1280 for a desk, 390 for a phone).
    pub fn width(&self, width: u32) {
        let height = if width < 600 { 844 } else { 900 };
        self.call(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        );
    }

    /// Saves a PNG of the page under `target/console-screenshots/NAME.png`.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let b64 = self.call("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("screenshot: {e}"));
        let dir = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/console-screenshots"
        ));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{e}"));
        path
    }

    /// Runs `script` in the page (WebDriver's, not the page's: its CSP does not apply) with
    /// `args`, and answers what it returns.
    pub fn execute(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Sets a field's value at once (a long text, such as an armored certificate, typed key
    /// by key would take seconds).
    pub fn fill(&self, css: &str, text: &str) {
        crate::logs::note("typed", text);
        self.find(css);
        self.execute(
            "document.querySelector(arguments[0]).value = arguments[1];",
            json!([css, text]),
        );
    }

    /// Presses keys, one after the other, on whatever has the focus (`"\u{E004}"` is Tab,
    /// `"\u{E007}"` Enter; any other text is typed).
    pub fn keys(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|k| {
                [
                    json!({"type": "keyDown", "value": k.to_string()}),
                    json!({"type": "keyUp", "value": k.to_string()}),
                ]
            })
            .collect();
        self.call(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        );
        self.call("DELETE", "/actions", None);
    }

    /// What has the focus, in words: `tag#id` or `a[href]`, and its text.
    pub fn focused(&self) -> String {
        self.execute(
            "var e = document.activeElement; if (!e) { return ''; } \
             var d = e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''); \
             if (e.getAttribute('href')) { d += '[href=' + e.getAttribute('href') + ']'; } \
             return d + ' ' + (e.textContent || e.value || '').trim().slice(0, 40);",
            json!([]),
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Presses Tab through the whole page and answers the visible controls (links, buttons,
    /// fields) Tab never reached: a page that works with the keyboard alone has none.
    pub fn unreachable_by_tab(&self) -> Vec<String> {
        let total = self
            .execute(
                "var all = Array.from(document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex=\"-1\"])')) \
                   .filter(function (e) { var closed = e.closest('details:not([open])'); \
                     return !e.disabled && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden' \
                       && !(closed && e.parentElement !== closed); }); \
                 all.forEach(function (e, i) { e.setAttribute('data-kb', String(i)); \
                   e.addEventListener('focus', function () { e.setAttribute('data-kb-seen', '1'); }); }); \
                 document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); \
                 return all.length;",
                json!([]),
            )
            .as_u64()
            .unwrap_or(0);
        // Every control once, and a few more for the page's own (the address bar is not ours).
        let tabs: String = "\u{E004}".repeat(total as usize + 3);
        self.keys(&tabs);
        self.execute(
            "return Array.from(document.querySelectorAll('[data-kb]:not([data-kb-seen])')) \
               .map(function (e) { return e.outerHTML.slice(0, 120); });",
            json!([]),
        )
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
    }

    /// What the page weighs: its HTML and everything it loaded (styles, script, icon), in
    /// bytes as decoded; what its script fetched later is not part of the first load.
    pub fn weight(&self) -> u64 {
        self.execute(
            "var n = performance.getEntriesByType('navigation')[0]; var total = n ? n.decodedBodySize : 0; \
             performance.getEntriesByType('resource').forEach(function (r) { \
               if (r.initiatorType !== 'fetch') { total += r.decodedBodySize; } }); \
             return total;",
            json!([]),
        )
        .as_u64()
        .unwrap_or(u64::MAX)
    }

    /// Waits up to `seconds` for `check` to hold, looking every 100 ms; whether it did.
    pub fn wait_for(&self, seconds: u64, check: impl Fn(&Browser) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            if check(self) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The serious and critical accessibility violations axe-core finds on the page (axe-core
    /// from the npm registry at `HELPLINE_AXE`, installed by `scripts/test`), each as "rule:
    /// what is wrong (where)". Without axe-core: skipped outside CI, a failure under CI.
    pub fn accessibility_violations(&self) -> Vec<String> {
        let Some(axe) = std::env::var_os("HELPLINE_AXE").map(PathBuf::from) else {
            assert!(
                !std::env::var("CI").is_ok_and(|v| v == "true"),
                "CI=true but HELPLINE_AXE is not set: the accessibility check must run"
            );
            eprintln!("SKIPPED axe-core: HELPLINE_AXE is not set (scripts/test installs it)");
            return Vec::new();
        };
        let source =
            std::fs::read_to_string(&axe).unwrap_or_else(|e| panic!("{}: {e}", axe.display()));
        let found = self.call(
            "POST",
            "/execute/async",
            Some(json!({
                "script": format!("{source}\n;var done = arguments[arguments.length - 1];\
                    axe.run(document, {{resultTypes: ['violations']}}).then(function (r) {{ done(r.violations); }}, \
                    function (e) {{ done([{{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}}]); }});"),
                "args": []
            })),
        );
        found
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .map(|v| {
                let targets: Vec<String> = v["nodes"]
                    .as_array()
                    .map(|n| n.iter().map(|n| n["target"].to_string()).collect())
                    .unwrap_or_default();
                format!("{}: {} ({})", v["id"], v["help"], targets.join(", "))
            })
            .collect()
    }

    /// What the page logged at level SEVERE since the last call: script errors, resources
    /// that failed to load, Content-Security-Policy violations.
    pub fn errors(&self) -> Vec<String> {
        self.call("POST", "/se/log", Some(json!({"type": "browser"})))
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.url).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = &self.profile;
    }
}
