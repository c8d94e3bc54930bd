using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace FeedbackHub.Bench.Web;

/// <summary>
/// One person signed in to the web app as a browser would be: its own connection and cookie jar (<c>fh_session</c>,
/// <c>fh_antiforgery</c>), signed in through the real form, and the page's antiforgery token for the live check.
/// </summary>
public sealed partial class AppSession : IDisposable
{
    private readonly HttpClient _http;
    private string? _csrf;

    private AppSession(Uri baseAddress)
    {
        var handler = new SocketsHttpHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false, UseCookies = true };
        _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public static async Task<AppSession> SignInAsync(Uri baseAddress, string email, string password)
    {
        var session = new AppSession(baseAddress);
        var form = await session._http.GetStringAsync(new Uri("/app/sign-in", UriKind.Relative));
        var token = HiddenToken().Match(form) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value) : throw new InvalidOperationException("The sign-in page has no antiforgery token.");
        using var body = new FormUrlEncodedContent(new Dictionary<string, string> { ["Email"] = email, ["Password"] = password, ["__RequestVerificationToken"] = token });
        using var answer = await session._http.PostAsync(new Uri("/app/sign-in", UriKind.Relative), body);
        if (answer.StatusCode != HttpStatusCode.Redirect)
            throw new InvalidOperationException($"Signing in {email} answered {(int)answer.StatusCode}, not a redirect to My work.");
        return session;
    }

    /// <summary>Opens a page and keeps its antiforgery token (the meta tag the feedback form's script reads).</summary>
    public async Task<string> OpenAsync(string path)
    {
        var (status, html, _) = await GetAsync(path);
        if (status != HttpStatusCode.OK)
            throw new InvalidOperationException($"GET {path} answered {(int)status}.");
        _csrf = CsrfMeta().Match(html) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value) : _csrf;
        return html;
    }

    /// <summary>GET with the whole body read; the time is the round trip on the client.</summary>
    public async Task<(HttpStatusCode Status, string Body, TimeSpan Elapsed)> GetAsync(string path)
    {
        var started = Stopwatch.GetTimestamp();
        using var answer = await _http.GetAsync(new Uri(path, UriKind.Relative));
        var body = await answer.Content.ReadAsStringAsync();
        return (answer.StatusCode, body, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>What the feedback form's script sends after the debounce: the whole comment, the antiforgery header.</summary>
    public async Task<(bool Ok, int Findings, TimeSpan Elapsed)> CheckAsync(string text)
    {
        var started = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/app/api/language/check", UriKind.Relative))
        {
            Content = new StringContent(JsonSerializer.Serialize(new { text }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-CSRF-Token", _csrf ?? throw new InvalidOperationException("Open the feedback form first."));
        using var answer = await _http.SendAsync(request);
        var body = await answer.Content.ReadAsStringAsync();
        var elapsed = Stopwatch.GetElapsedTime(started);
        if (answer.StatusCode != HttpStatusCode.OK)
            return (false, 0, elapsed);
        using var json = JsonDocument.Parse(body);
        return (true, json.RootElement.GetProperty("findings").GetArrayLength(), elapsed);
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex HiddenToken();

    [GeneratedRegex("<meta name=\"csrf-token\" content=\"([^\"]+)\"")]
    private static partial Regex CsrfMeta();
}
