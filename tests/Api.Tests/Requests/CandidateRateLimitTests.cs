using System.Globalization;
using System.Net;
using System.Text;
using FeedbackHub.Api.Tests.Authoring;
using FeedbackHub.Tests;
using Microsoft.AspNetCore.Http;

namespace FeedbackHub.Api.Tests.Requests;

/// <summary>The candidate-facing rate limit, with small limits so the tests are quick.</summary>
public sealed class CandidateRateLimitTests : IClassFixture<ApiFactory>
{
    private readonly ApiFactory _api;

    public CandidateRateLimitTests(ApiFactory api)
    {
        _api = api;
        _api.Settings["FeedbackHub:CandidateRateLimit:PerTokenPerMinute"] = "3";
        _api.Settings["FeedbackHub:CandidateRateLimit:PerAddressPerMinute"] = "8";
    }

    [Fact]
    public async Task Too_many_requests_answer_429_with_Retry_After_per_token_and_per_address()
    {
        var client = _api.CreateClient();
        var token = new string('B', 43);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
            statuses.Add((await client.GetAsync($"/v1/public/feedback-requests/{token}")).StatusCode);
        Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.TooManyRequests], statuses);
        var limited = await client.GetAsync($"/v1/public/feedback-requests/{token}");
        await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests, "too-many-requests");
        Assert.True(int.Parse(limited.Headers.GetValues("Retry-After").Single(), CultureInfo.InvariantCulture) >= 1);

        // Other tokens from the same address: the address limit (8) stops enumeration too.
        var perAddress = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
            perAddress.Add((await client.GetAsync($"/v1/public/feedback-requests/{new string((char)('C' + i), 43)}")).StatusCode);
        Assert.Contains(HttpStatusCode.TooManyRequests, perAddress);
    }

    [Fact]
    public async Task One_token_hammered_to_429_does_not_block_another_tokens_first_get_and_post_from_the_same_address()
    {
        var tenant = await _api.CreateTenantAsync();
        var hammered = CandidateRequestTests.Token(await CandidateRequestTests.RejectAsync(tenant, await FeedbackWorkflowTests.ApplicationAsync(tenant)));
        var other = CandidateRequestTests.Token(await CandidateRequestTests.RejectAsync(tenant, await FeedbackWorkflowTests.ApplicationAsync(tenant)));
        const string address = "192.0.2.10";

        var statuses = new List<int>();
        for (var i = 0; i < 12; i++)
            statuses.Add((await RawRequest.SendAsync(_api, "GET", $"/v1/public/feedback-requests/{hammered}", address)).Response.StatusCode);
        Assert.Equal([200, 200, 200, .. Enumerable.Repeat(429, 9)], statuses);

        Assert.Equal(200, (await RawRequest.SendAsync(_api, "GET", $"/v1/public/feedback-requests/{other}", address)).Response.StatusCode);
        var posted = await RawRequest.SendAsync(_api, "POST", $"/v1/public/feedback-requests/{other}", address, json: "{}");
        Assert.True(posted.Response.StatusCode == 202, await RawRequest.BodyAsync(posted.Response));
    }

    [Fact]
    public async Task Without_configured_proxies_X_Forwarded_For_is_ignored_and_cannot_escape_the_address_limit()
    {
        var statuses = new List<int>();
        for (var i = 0; i < 9; i++)
        {
            var context = await RawRequest.SendAsync(_api, "GET", $"/v1/public/feedback-requests/{new string((char)('a' + i), 43)}", "192.0.2.11", forwardedFor: $"198.51.100.{i + 1}");
            statuses.Add(context.Response.StatusCode);
        }

        Assert.Equal([.. Enumerable.Repeat(404, 8), 429], statuses);
    }

    [Fact]
    public async Task Page_over_the_limit_answers_an_html_page_with_Retry_After_and_the_pages_security_headers()
    {
        var token = new string('P', 43);
        HttpContext? last = null;
        for (var i = 0; i < 4; i++)
            last = await RawRequest.SendAsync(_api, "GET", $"/r/{token}", "192.0.2.12");
        var limited = last!.Response;
        var html = await RawRequest.BodyAsync(limited);

        Assert.Equal(429, limited.StatusCode);
        Assert.StartsWith("text/html", limited.ContentType, StringComparison.Ordinal);
        var seconds = int.Parse(limited.Headers.RetryAfter.ToString(), CultureInfo.InvariantCulture);
        Assert.InRange(seconds, 1, 60);
        Assert.Equal("no-referrer", limited.Headers["Referrer-Policy"].ToString());
        Assert.Equal("nosniff", limited.Headers["X-Content-Type-Options"].ToString());
        Assert.StartsWith("default-src 'none'", limited.Headers.ContentSecurityPolicy.ToString(), StringComparison.Ordinal);
        Assert.Equal("no-store", limited.Headers.CacheControl.ToString());
        Assert.Contains("<h1>Please try again in a moment</h1>", html, StringComparison.Ordinal);
        Assert.Contains("Please wait ", html, StringComparison.Ordinal);
        Assert.Contains("then open your link again", html, StringComparison.Ordinal);

        var posted = await RawRequest.SendAsync(_api, "POST", $"/r/{token}", "192.0.2.12", form: "note=hello");
        Assert.Equal(429, posted.Response.StatusCode);
        Assert.Contains("Your request has not been sent yet.", await RawRequest.BodyAsync(posted.Response), StringComparison.Ordinal);
    }
}

/// <summary>Forwarded headers believed from configured proxies only; the limits then count the real client.</summary>
public sealed class ForwardedHeadersRateLimitTests : IClassFixture<ApiFactory>
{
    private const string Proxy = "10.0.0.1";
    private readonly ApiFactory _api;

    public ForwardedHeadersRateLimitTests(ApiFactory api)
    {
        _api = api;
        _api.Settings["FeedbackHub:CandidateRateLimit:PerTokenPerMinute"] = "100";
        _api.Settings["FeedbackHub:CandidateRateLimit:PerAddressPerMinute"] = "4";
        _api.Settings["FeedbackHub:ForwardedHeaders:KnownProxies:0"] = Proxy;
        _api.Settings["FeedbackHub:ForwardedHeaders:KnownNetworks"] = "10.1.0.0/16, 10.2.0.0/16";
    }

    [Fact]
    public async Task Behind_a_known_proxy_two_clients_with_different_X_Forwarded_For_have_separate_limits()
    {
        Assert.Equal([404, 404, 404, 404, 429], await StatusesAsync(5, "a", Proxy, "198.51.100.1"));
        Assert.Equal([404, 404, 404, 404, 429], await StatusesAsync(5, "b", "10.2.3.4", "198.51.100.2")); // a proxy in a known network
    }

    [Fact]
    public async Task Addresses_a_client_puts_before_the_proxys_entry_are_not_believed()
    {
        var statuses = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            var context = await RawRequest.SendAsync(_api, "GET", $"/v1/public/feedback-requests/{Token("c", i)}", Proxy, forwardedFor: $"203.0.113.{i + 1}, 198.51.100.3");
            statuses.Add(context.Response.StatusCode);
        }

        Assert.Equal([404, 404, 404, 404, 429], statuses);
    }

    [Fact]
    public async Task X_Forwarded_For_from_an_address_that_is_not_a_known_proxy_is_ignored() =>
        Assert.Equal([404, 404, 404, 404, 429], await StatusesAsync(5, "d", "192.0.2.20", null, (i) => $"198.51.100.{i + 10}"));

    private async Task<List<int>> StatusesAsync(int count, string prefix, string remote, string? forwardedFor, Func<int, string>? forwardedForEach = null)
    {
        var statuses = new List<int>();
        for (var i = 0; i < count; i++)
        {
            var context = await RawRequest.SendAsync(_api, "GET", $"/v1/public/feedback-requests/{Token(prefix, i)}", remote, forwardedFor ?? forwardedForEach?.Invoke(i));
            statuses.Add(context.Response.StatusCode);
        }

        return statuses;
    }

    private static string Token(string prefix, int i) => (prefix + i.ToString(CultureInfo.InvariantCulture)).PadRight(43, 'z');
}

/// <summary>A request with a chosen client address (the test server has none), straight through the test server.</summary>
internal static class RawRequest
{
    public static async Task<HttpContext> SendAsync(
        ApiFactory api, string method, string path, string remoteAddress, string? forwardedFor = null, string? json = null, string? form = null)
    {
        var body = json ?? form;
        return await api.Server.SendAsync(context =>
        {
            context.Request.Method = method;
            context.Request.Path = path;
            context.Connection.RemoteIpAddress = IPAddress.Parse(remoteAddress);
            if (forwardedFor is not null)
                context.Request.Headers["X-Forwarded-For"] = forwardedFor;
            if (body is not null)
            {
                context.Request.ContentType = json is not null ? "application/json" : "application/x-www-form-urlencoded";
                context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
                context.Request.ContentLength = Encoding.UTF8.GetByteCount(body);
            }
        });
    }

    public static async Task<string> BodyAsync(HttpResponse response)
    {
        using var reader = new StreamReader(response.Body);
        return await reader.ReadToEndAsync();
    }
}
