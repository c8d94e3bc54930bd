using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace FeedbackHub.Api.Infrastructure;

/// <summary>
/// Behind a reverse proxy (an ingress, a load balancer) the connection comes from the proxy, so per-address limits
/// would count every candidate as one client. <c>FeedbackHub:ForwardedHeaders:KnownProxies</c> (addresses) and
/// <c>KnownNetworks</c> (CIDR), as arrays or comma-separated, name the proxies whose <c>X-Forwarded-For</c> and
/// <c>X-Forwarded-Proto</c> are believed. Off when neither is set: then forwarded headers are ignored, so a client
/// cannot choose its own address.
/// </summary>
internal static class ForwardedHeadersSetup
{
    public const string Section = "FeedbackHub:ForwardedHeaders";

    public static WebApplication UseFeedbackHubForwardedHeaders(this WebApplication app)
    {
        if (Options(app.Configuration) is { } options)
            app.UseForwardedHeaders(options);
        return app;
    }

    /// <summary>The middleware's options, or null when no proxy is configured. A value that does not parse stops the start.</summary>
    internal static ForwardedHeadersOptions? Options(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var proxies = Values(section.GetSection("KnownProxies"));
        var networks = Values(section.GetSection("KnownNetworks"));
        if (proxies.Count == 0 && networks.Count == 0)
            return null;

        // No ForwardLimit: the middleware walks the X-Forwarded-For list from the right and stops at the first hop
        // that is not a known proxy, so whatever a client puts at the left of the header is never believed.
        var options = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
            ForwardLimit = null,
        };
        options.KnownProxies.Clear(); // the defaults trust loopback
        options.KnownIPNetworks.Clear();
        foreach (var proxy in proxies)
        {
            options.KnownProxies.Add(IPAddress.TryParse(proxy, out var address)
                ? address
                : throw new InvalidOperationException($"{Section}:KnownProxies: '{proxy}' is not an IP address."));
        }

        foreach (var network in networks)
        {
            options.KnownIPNetworks.Add(System.Net.IPNetwork.TryParse(network, out var parsed)
                ? parsed
                : throw new InvalidOperationException($"{Section}:KnownNetworks: '{network}' is not a network in CIDR notation (e.g. 10.0.0.0/8)."));
        }

        return options;
    }

    /// <summary>An array section (<c>KnownProxies:0</c>, ...) or one comma-separated value (handy in environment variables).</summary>
    private static List<string> Values(IConfigurationSection section) =>
        (section.Value is { } single ? single.Split(',') : section.GetChildren().Select(c => c.Value ?? string.Empty))
            .Select(v => v.Trim()).Where(v => v.Length > 0).ToList();
}
