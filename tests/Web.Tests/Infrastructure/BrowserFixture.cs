using System.Runtime.CompilerServices;
using Microsoft.Playwright;

namespace FeedbackHub.Web.Tests.Infrastructure;

/// <summary>
/// One headless Chromium per test collection, driven by Playwright. It is Debian's <c>/usr/bin/chromium</c> (installed by
/// scripts/test.sh; <c>FEEDBACKHUB_CHROMIUM</c> points elsewhere): Playwright's own browser download cannot work here, so
/// <c>playwright install</c> is never called. A missing browser fails every test with a message saying so, never skips.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumVariable = "FEEDBACKHUB_CHROMIUM";

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public static string ChromiumPath => Environment.GetEnvironmentVariable(ChromiumVariable) is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser has not started.");

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException(
                $"Chromium was not found at {ChromiumPath}. The browser tests need it: scripts/test.sh installs it (apt-get install -y chromium, as root); "
                + $"or install it yourself, or set {ChromiumVariable} to a Chromium binary. Do not run `playwright install` (its download cannot work here).");
        }

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            Timeout = 30_000,
        });
    }

    /// <summary>
    /// A new page in a fresh browser context (its own cookies and storage: nothing leaks between tests) whose steps are
    /// saved under <c>.local/test/artifacts/screenshots/&lt;TestClass&gt;.&lt;test&gt;[.variant]/</c> (a theory names its
    /// case in <paramref name="variant"/>). Width 1280 by default; 360 for a small phone. <paramref name="javaScript"/>
    /// false: the page's scripts do not run (what works without them).
    /// </summary>
    public async Task<BrowserPage> OpenAsync(
        int width = 1280, int height = 800, string? variant = null, bool javaScript = true, [CallerFilePath] string testFile = "", [CallerMemberName] string test = "")
    {
        var context = await Browser.NewContextAsync(new()
        {
            ViewportSize = new() { Width = width, Height = height },
            Locale = "en-GB",
            TimezoneId = "UTC",
            JavaScriptEnabled = javaScript,
        });
        context.SetDefaultTimeout(10_000);
        context.SetDefaultNavigationTimeout(15_000);
        var page = await context.NewPageAsync();
        return new BrowserPage(context, page, Artifacts.ScreenshotFolder(Path.GetFileNameWithoutExtension(testFile) + "." + test + (variant is null ? string.Empty : "." + variant)));
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
            await _browser.DisposeAsync();
        _playwright?.Dispose();
    }
}

/// <summary>Browser test classes share one Chromium and run one after another (two cores, shared with the hosts).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BrowserTests : ICollectionFixture<BrowserFixture>
{
    public const string Name = "Browser";
}
