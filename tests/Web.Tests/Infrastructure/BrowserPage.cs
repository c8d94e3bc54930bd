using System.Globalization;
using System.Text;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace FeedbackHub.Web.Tests.Infrastructure;

/// <summary>
/// A page in its own browser context, with the checks every state of every page must pass: <see cref="CheckAsync"/>
/// saves a full-page screenshot (<c>NN-step.png</c>) and runs axe-core, failing on serious or critical violations and
/// on errors the page logged (a script error, a Content-Security-Policy refusal). Disposing it saves <c>last.png</c>,
/// the state a failing test ended in.
/// </summary>
public sealed class BrowserPage : IAsyncDisposable
{
    private static readonly string[] Blocking = ["serious", "critical"];

    private readonly IBrowserContext _context;
    private readonly List<string> _errors = [];
    private int _step;

    internal BrowserPage(IBrowserContext context, IPage page, string folder)
    {
        _context = context;
        Page = page;
        Folder = folder;
        page.Console += (_, message) =>
        {
            // The document's own 404 or 422 is logged as a failed load; the test asserts that status itself.
            if (message.Type == "error" && !(message.Text.StartsWith("Failed to load resource: the server responded", StringComparison.Ordinal) && message.Location == page.Url + ":0:0"))
                Record($"console: {message.Text} ({message.Location})");
        };
        page.PageError += (_, error) => Record("page error: " + error);
    }

    public IPage Page { get; }

    /// <summary>This test's screenshot folder.</summary>
    public string Folder { get; }

    /// <summary>Cookies of this page's context (e.g. to assert a sign-in cookie's flags).</summary>
    public Task<IReadOnlyList<BrowserContextCookiesResult>> CookiesAsync() => _context.CookiesAsync();

    /// <summary>Opens a URL and asserts the answer's status (200 unless told).</summary>
    public async Task<IResponse> GotoAsync(string url, int expectedStatus = 200)
    {
        var response = await Page.GotoAsync(url) ?? throw new InvalidOperationException($"No response for {url}.");
        Assert.True(response.Status == expectedStatus, $"Expected {expectedStatus} from {url} but got {response.Status}.");
        return response;
    }

    /// <summary>Saves a full-page screenshot named after the step and fails on blocking axe violations or logged page errors.</summary>
    public async Task CheckAsync(string step)
    {
        var path = await ScreenshotAsync(step);
        // Not into frames: the app's one frame is the review's email preview, sandboxed so that no script runs in it,
        // axe's included (Playwright would wait for it forever).
        var result = await Page.RunAxe(new AxeRunOptions { Iframes = false });
        var report = Describe(result.Violations);
        if (report.Length > 0)
            await File.WriteAllTextAsync(Path.ChangeExtension(path, ".axe.txt"), report);
        var blocking = result.Violations.Where(v => Blocking.Contains(v.Impact)).ToList();
        Assert.True(blocking.Count == 0, $"axe found {blocking.Count} serious or critical violation(s) at step '{step}' ({Page.Url}; screenshot {path}):\n{Describe(blocking)}");
        lock (_errors)
            Assert.True(_errors.Count == 0, $"The page logged errors by step '{step}' ({Page.Url}):\n" + string.Join("\n", _errors));
    }

    /// <summary>A full-page screenshot, <c>NN-step.png</c> in <see cref="Folder"/>; returns its path.</summary>
    public async Task<string> ScreenshotAsync(string step)
    {
        var name = $"{++_step:00}-{Slug(step)}.png";
        var path = Path.Combine(Folder, name);
        await Page.ScreenshotAsync(new() { Path = path, FullPage = true });
        return path;
    }

    /// <summary>Asserts the page needs no sideways scrolling at the current viewport (e.g. 360 px, a small phone).</summary>
    public async Task AssertNoHorizontalScrollAsync()
    {
        var (scrollWidth, viewport) = (await Page.EvaluateAsync<int>("document.documentElement.scrollWidth"), Page.ViewportSize!.Width);
        Assert.True(scrollWidth <= viewport, $"The page is {scrollWidth} px wide in a {viewport} px viewport ({Page.Url}): it scrolls sideways.");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Page.ScreenshotAsync(new() { Path = Path.Combine(Folder, "last.png"), FullPage = true });
        }
        catch (PlaywrightException)
        {
            // Best effort: the page may already be gone (the browser crashed, which the test reports itself).
        }

        await _context.CloseAsync();
    }

    private void Record(string error)
    {
        lock (_errors)
            _errors.Add(error);
    }

    private static string Describe(IEnumerable<AxeResultItem> violations)
    {
        var text = new StringBuilder();
        foreach (var v in violations)
        {
            text.Append(CultureInfo.InvariantCulture, $"- {v.Id} ({v.Impact}): {v.Help} {v.HelpUrl}\n");
            foreach (var node in v.Nodes)
                {
                text.Append(CultureInfo.InvariantCulture, $"    at {node.Target}: {node.Html}\n");
                foreach (var check in node.Any.Concat(node.All).Concat(node.None))
                    text.Append(CultureInfo.InvariantCulture, $"      {check.Message}\n");
            }
        }

        return text.ToString();
    }

    private static string Slug(string step) =>
        string.Concat(step.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')).Trim('-');
}
