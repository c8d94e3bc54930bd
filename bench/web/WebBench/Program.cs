using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FeedbackHub.Api.Commands;
using FeedbackHub.Api.Features.Templates;
using FeedbackHub.Domain.Language;
using FeedbackHub.Domain.Templates;
using FeedbackHub.Language.Semantic;
using Microsoft.Playwright;

namespace FeedbackHub.Bench.Web;

/// <summary>
/// The web app's two figures (bench/web/README.md). Commands, each printing one <c>RESULT key=value ...</c> line:
/// <c>setup</c> (a published template whose comments take 2,000 characters, an application and a feedback draft),
/// <c>check</c> (N editors signed in through the form, each looping: live check, then typing time),
/// <c>floor</c> (the same checks on the checker in this process), <c>browser</c> (Chromium on the real form while N
/// editors load the server: from the debounce firing to the highlights drawn), <c>pages</c> (sequential page views).
/// </summary>
internal static class Program
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0)
        {
            await Console.Error.WriteLineAsync("usage: WebBench setup|check|floor|browser|pages --option value ... (see bench/web/run.sh)");
            return 2;
        }

        var o = Options.Parse(args[1..]);
        return args[0] switch
        {
            "setup" => await SetupAsync(o),
            "check" => await CheckAsync(o),
            "floor" => Floor(o),
            "browser" => await BrowserAsync(o),
            "pages" => await PagesAsync(o),
            _ => 2,
        };
    }

    /// <summary>The engineering example template with 2,000-character comments (the most a template allows), published
    /// by the legal key; an application; a draft of it by the interviewer key. Prints the feedback id.</summary>
    private static async Task<int> SetupAsync(Options o)
    {
        using var http = new HttpClient { BaseAddress = o.Base };
        HttpRequestMessage As(HttpMethod method, string path, string key, object? body = null)
        {
            var m = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
            m.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            if (body is not null)
                m.Content = JsonContent.Create(body, body.GetType(), options: Json);
            return m;
        }

        async Task<JsonElement> Send(HttpRequestMessage m)
        {
            using (m)
            {
                using var answer = await http.SendAsync(m);
                var text = await answer.Content.ReadAsStringAsync();
                if (!answer.IsSuccessStatusCode)
                    throw new InvalidOperationException($"{m.Method} {m.RequestUri} answered {(int)answer.StatusCode}: {text}");
                return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
            }
        }

        var (name, content) = ExampleTemplates.Engineering;
        var longComments = content with { Criteria = [.. content.Criteria.Select(c => c with { Comment = new CommentPolicy(true, Answers.MaxLength) })] };
        var template = await Send(As(HttpMethod.Post, "/v1/templates", o["recruiter-key"], TemplateRequest.From("Bench: " + name + " (long comments)", "en", longComments)));
        var templateId = template.GetProperty("templateId").GetGuid();
        await Send(As(HttpMethod.Post, $"/v1/templates/{templateId}/versions/1/submit", o["recruiter-key"]));
        await Send(As(HttpMethod.Post, $"/v1/templates/{templateId}/versions/1/publish", o["legal-key"]));
        var application = await Send(As(HttpMethod.Put, "/v1/applications/by-external-id/bench-web-1", o["integration-key"], new
        {
            candidate = new { externalId = "bench-web-cand-1", firstName = "Ada", lastName = "Lovelace", email = "bench-web-1@example.com" },
            positionTitle = "Backend Engineer",
            stageReached = "onsite",
        }));
        var feedback = await Send(As(HttpMethod.Post, "/v1/feedback", o["interviewer-key"], new { applicationId = application.GetProperty("id").GetGuid(), templateId }));
        Result("setup", ("feedback", feedback.GetProperty("id").GetGuid().ToString()), ("template", templateId.ToString()));
        return 0;
    }

    /// <summary>
    /// N editors, each its own signed-in session on its own connection, on the feedback form: check the comment (about
    /// 2,000 characters; <c>--mode typing</c>: one sentence rewritten since its last check, <c>paste</c>: all new),
    /// then type for 200 to 700 ms (uniform) and wait out the 300 ms debounce, until the duration is over. Only checks
    /// that start after the warm-up count.
    /// </summary>
    private static async Task<int> CheckAsync(Options o)
    {
        var editors = o.Int("editors", 20);
        var (latencies, errors, noFindings, seconds) = await RunEditorsAsync(o, editors, TimeSpan.FromSeconds(o.Int("duration", 30)), TimeSpan.FromSeconds(o.Int("warmup", 5)), o.Get("mode", "typing"), CancellationToken.None);
        Result("check", Stats(latencies), ("mode", o.Get("mode", "typing")), ("editors", editors.ToString(CultureInfo.InvariantCulture)),
            ("errors", errors.ToString(CultureInfo.InvariantCulture)), ("no_findings", noFindings.ToString(CultureInfo.InvariantCulture)),
            ("checks_per_s", F(latencies.Count / seconds)), ("chars", new Answers(1).Text.Length.ToString(CultureInfo.InvariantCulture)));
        return errors == 0 ? 0 : 3;
    }

    private static async Task<(List<double> Latencies, int Errors, int NoFindings, double Seconds)> RunEditorsAsync(
        Options o, int editors, TimeSpan duration, TimeSpan warmup, string mode, CancellationToken stop)
    {
        var sessions = new List<AppSession>();
        for (var i = 0; i < editors; i++)
        {
            var session = await AppSession.SignInAsync(o.Base, o["email"], o["password"]);
            await session.OpenAsync($"/app/feedback/{o["feedback"]}");
            sessions.Add(session);
        }

        var latencies = new List<double>();
        int errors = 0, noFindings = 0;
        var started = Stopwatch.GetTimestamp();
        var measureFrom = started + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var end = measureFrom + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        async Task Editor(int i)
        {
            var answers = new Answers(1000 + i);
            var random = new Random(i);
            var text = answers.Text;
            while (Stopwatch.GetTimestamp() < end && !stop.IsCancellationRequested)
            {
                var at = Stopwatch.GetTimestamp();
                var (ok, findings, elapsed) = await sessions[i].CheckAsync(text);
                if (at >= measureFrom)
                {
                    lock (latencies)
                    {
                        if (ok)
                            latencies.Add(elapsed.TotalMilliseconds);
                        else
                            errors++;
                        if (ok && findings == 0)
                            noFindings++;
                    }
                }

                text = mode == "paste" ? answers.Paste() : answers.Typing();
                try
                {
                    await Task.Delay(200 + random.Next(501) + 300, stop);
                }
                catch (TaskCanceledException)
                {
                    break;
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, editors).Select(i => Task.Run(() => Editor(i), CancellationToken.None)));
        var seconds = Math.Max(0.001, (Stopwatch.GetTimestamp() - measureFrom) / (double)Stopwatch.Frequency);
        sessions.ForEach(s => s.Dispose());
        return (latencies, errors, noFindings, seconds);
    }

    /// <summary>The physical floor: the same checks (full engine, US pack, at most 100 findings) in this process, one at a time.</summary>
    private static int Floor(Options o)
    {
        var checker = FullLanguageChecker.Create(LanguageChecker.Create(RuleCatalog.Default.ForJurisdiction("US")), SentenceClassifier.Shared);
        var answers = new Answers(7);
        var warm = checker.Check(answers.Text, 100, out _);
        var samples = o.Int("samples", 300);
        var latencies = new List<double>(samples);
        var paste = o.Get("mode", "typing") == "paste";
        for (var i = 0; i < samples + 10; i++)
        {
            var text = paste ? answers.Paste() : answers.Typing();
            var started = Stopwatch.GetTimestamp();
            checker.Check(text, 100, out _);
            if (i >= 10)
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        Result("floor", Stats(latencies), ("mode", paste ? "paste" : "typing"), ("findings", warm.Count.ToString(CultureInfo.InvariantCulture)));
        return 0;
    }

    /// <summary>
    /// Chromium on the real feedback form (signed in through the page) while <c>--editors</c> HTTP editors load the
    /// server. Each sample rewrites one sentence of the ~2,000-character comment (one input event, like the last
    /// keystroke of a burst) and times, in the page: the feedback form script's fetch (the debounce firing), the status
    /// line rewritten after the highlight layer and the findings list were redrawn, and the next animation frame (the
    /// highlights on screen).
    /// </summary>
    private static async Task<int> BrowserAsync(Options o)
    {
        using var stop = new CancellationTokenSource();
        var load = o.Int("editors", 20) > 0
            ? RunEditorsAsync(o, o.Int("editors", 20), TimeSpan.FromSeconds(o.Int("max-seconds", 180)), TimeSpan.FromSeconds(3), "typing", stop.Token)
            : Task.FromResult((new List<double>(), 0, 0, 1.0));
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = o.Get("chromium", "/usr/bin/chromium"),
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            Timeout = 30_000,
        });
        await using var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 800 }, Locale = "en-GB" });
        context.SetDefaultTimeout(15_000);
        await context.AddInitScriptAsync(Probe);
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(o.Base, "/app/sign-in").ToString());
        await page.GetByLabel("Email").FillAsync(o["email"]);
        await page.GetByLabel("Password").FillAsync(o["password"]);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync(new Uri(o.Base, "/app/").ToString());
        await page.GotoAsync(new Uri(o.Base, $"/app/feedback/{o["feedback"]}").ToString());
        var area = page.Locator("#comment-problem-solving");

        var answers = new Answers(4242);
        await Sample(answers.Text); // the first check embeds every sentence: not counted
        await Task.Delay(3000); // the HTTP editors' warm-up
        var samples = o.Int("samples", 30);
        var toFrame = new List<double>();
        var toDom = new List<double>();
        var fromInput = new List<double>();
        var marks = 0;
        var random = new Random(5);
        for (var i = 0; i < samples + 3; i++)
        {
            var draw = await Sample(answers.Typing());
            if (i >= 3)
            {
                toFrame.Add(draw.GetProperty("frame").GetDouble() - draw.GetProperty("fetchAt").GetDouble());
                toDom.Add(draw.GetProperty("dom").GetDouble() - draw.GetProperty("fetchAt").GetDouble());
                fromInput.Add(draw.GetProperty("frame").GetDouble() - draw.GetProperty("inputAt").GetDouble());
                marks = draw.GetProperty("marks").GetInt32();
            }

            await Task.Delay(200 + random.Next(501));
        }

        await stop.CancelAsync();
        var (editorLatencies, errors, _, _) = await load;
        var frame = Stats(toFrame);
        Result("browser", frame, ("dom_p50_ms", F(P(toDom, 50))), ("dom_p95_ms", F(P(toDom, 95))),
            ("from_input_p50_ms", F(P(fromInput, 50))), ("from_input_p95_ms", F(P(fromInput, 95))), ("marks", marks.ToString(CultureInfo.InvariantCulture)),
            ("editors", o.Int("editors", 20).ToString(CultureInfo.InvariantCulture)),
            ("editors_n", editorLatencies.Count.ToString(CultureInfo.InvariantCulture)), ("editors_p50_ms", F(P(editorLatencies, 50))),
            ("editors_p95_ms", F(P(editorLatencies, 95))), ("editors_errors", errors.ToString(CultureInfo.InvariantCulture)));
        return 0;

        async Task<JsonElement> Sample(string text)
        {
            var before = await page.EvaluateAsync<int>("() => window.__bench.draws.length");
            await area.FillAsync(text);
            await page.WaitForFunctionAsync($"() => window.__bench.draws.length > {before}", null, new() { Timeout = 15_000 });
            return await page.EvaluateAsync<JsonElement>("() => window.__bench.draws[window.__bench.draws.length - 1]");
        }
    }

    /// <summary>Injected before the page's scripts: notes the last input event, the live check's fetch call, and each
    /// rewrite of a check-status line (written last by feedback.js, after the mirror's marks and the list) with the
    /// animation frame after it.</summary>
    private const string Probe = """
        (() => {
          const s = window.__bench = { draws: [], fetchAt: 0, inputAt: 0 };
          const original = window.fetch;
          window.fetch = function (url) {
            if (String(url).indexOf('/app/api/language/check') >= 0) s.fetchAt = performance.now();
            return original.apply(this, arguments);
          };
          document.addEventListener('input', () => { s.inputAt = performance.now(); }, true);
          document.addEventListener('DOMContentLoaded', () => {
            document.querySelectorAll('.check-status').forEach(status => new MutationObserver(() => {
              const dom = performance.now(), fetchAt = s.fetchAt, inputAt = s.inputAt;
              if (fetchAt <= inputAt) return; // cleared by typing, not drawn from a check
              requestAnimationFrame(() => s.draws.push({ fetchAt, inputAt, dom, frame: performance.now(),
                marks: document.querySelectorAll('.mirror mark').length }));
            }).observe(status, { childList: true, characterData: true, subtree: true }));
          });
        })();
        """;

    /// <summary>Sequential page views by one signed-in person: <c>--views</c> after <c>--warmup</c>, each must answer 200 with <c>--expect</c> in it.</summary>
    private static async Task<int> PagesAsync(Options o)
    {
        using var session = await AppSession.SignInAsync(o.Base, o["email"], o["password"]);
        var path = o["path"];
        var expect = o.Get("expect", "</html>");
        var latencies = new List<double>();
        var bad = 0;
        var bytes = 0;
        var views = o.Int("views", 200);
        for (var i = 0; i < o.Int("warmup", 20) + views; i++)
        {
            var (status, body, elapsed) = await session.GetAsync(path);
            if (status != HttpStatusCode.OK || !body.Contains(expect, StringComparison.Ordinal))
            {
                bad++;
                continue;
            }

            bytes = body.Length;
            if (i >= o.Int("warmup", 20))
                latencies.Add(elapsed.TotalMilliseconds);
        }

        Result("pages", Stats(latencies), ("label", o.Get("label", path)), ("bad", bad.ToString(CultureInfo.InvariantCulture)), ("bytes", bytes.ToString(CultureInfo.InvariantCulture)));
        return bad == 0 ? 0 : 3;
    }

    private static (string, string)[] Stats(List<double> ms) =>
    [
        ("n", ms.Count.ToString(CultureInfo.InvariantCulture)), ("p50_ms", F(P(ms, 50))), ("p95_ms", F(P(ms, 95))), ("p99_ms", F(P(ms, 99))),
        ("mean_ms", F(ms.Count == 0 ? 0 : ms.Average())), ("max_ms", F(ms.Count == 0 ? 0 : ms.Max())),
    ];

    /// <summary>Nearest-rank percentile.</summary>
    private static double P(List<double> values, double p)
    {
        if (values.Count == 0)
            return double.NaN;
        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    private static string F(double value) => value.ToString("0.0", CultureInfo.InvariantCulture);

    private static void Result(string name, (string Key, string Value)[] stats, params (string Key, string Value)[] more) =>
        Console.WriteLine("RESULT " + name + " " + string.Join(' ', stats.Concat(more).Select(kv => kv.Key + "=" + kv.Value)));

    private static void Result(string name, params (string Key, string Value)[] more) => Result(name, [], more);
}

/// <summary><c>--name value</c> pairs.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (var i = 0; i + 1 < args.Length; i += 2)
            o._values[args[i].TrimStart('-')] = args[i + 1];
        return o;
    }

    public string this[string name] => _values.TryGetValue(name, out var v) ? v : throw new ArgumentException($"--{name} is required.");

    public Uri Base => new(Get("base", "http://127.0.0.1:5091"));

    public string Get(string name, string fallback) => _values.TryGetValue(name, out var v) ? v : fallback;

    public int Int(string name, int fallback) => _values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
