using System.Net;
using System.Net.Sockets;
using FeedbackHub.Tests;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace FeedbackHub.Web.Tests.Infrastructure;

/// <summary>
/// The real Api host on Kestrel on a loopback port (a browser needs a socket), over its own database with the real
/// migrations (<see cref="ApiFactory"/>), with <c>FeedbackHub:PublicBaseUrl</c> set to that address so the links the
/// product makes (rejection answers, emails) open in the browser as they are. The worker starts on first
/// <see cref="WorkerAsync"/>, for stories that need emails. One per test class (<c>IClassFixture&lt;WebApp&gt;</c>).
/// </summary>
public sealed class WebApp : IAsyncLifetime
{
    private readonly SemaphoreSlim _workerLock = new(1, 1);
    private WorkerHost? _worker;

    public ApiFactory Api { get; } = new();

    /// <summary>The host's address, <c>http://127.0.0.1:PORT</c> (no trailing slash).</summary>
    public string BaseUrl { get; private set; } = string.Empty;

    /// <summary>RabbitMQ prefix of this class's worker: its queues are its own.</summary>
    public string Prefix { get; } = "w" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>An absolute URL on this host for a path such as <c>/r/abc</c>.</summary>
    public string Url(string path) => BaseUrl + (path.StartsWith('/') ? path : "/" + path);

    public async Task InitializeAsync()
    {
        await Api.InitializeAsync();
        // The public base URL must be known before the host starts, so the port is chosen first (and the host binds it at
        // once); Kestrel on port 0 would only tell it afterwards.
        var port = FreeLoopbackPort();
        Api.Settings["FeedbackHub:PublicBaseUrl"] = $"http://127.0.0.1:{port}";
        // The browser talks plain http on loopback; outside Development the session and antiforgery cookies demand
        // https (and antiforgery refuses an http request outright), so here they follow the request instead.
        Api.ServiceChanges.Add(services =>
        {
            services.PostConfigure<Microsoft.AspNetCore.Antiforgery.AntiforgeryOptions>(o => o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest);
            services.PostConfigure<CookieAuthenticationOptions>(IdentityConstants.ApplicationScheme, o => o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest);
            // Workaround, not the product's behaviour: the product keeps Data Protection keys in PostgreSQL through EF's
            // key store, which calls the synchronous SaveChanges that FeedbackHubDbContext refuses, so no key can be
            // created and every antiforgery token and session cookie fails. Until that is fixed, keys live in a folder.
            services.PostConfigure<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>(o => o.XmlRepository =
                new Microsoft.AspNetCore.DataProtection.Repositories.FileSystemXmlRepository(
                    Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "feedbackhub-web-tests-keys", Prefix)),
                    Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance));
        });
        Api.UseKestrel(options => options.Listen(IPAddress.Loopback, port));
        Api.StartServer();
        var address = Api.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        BaseUrl = address.TrimEnd('/');
    }

    /// <summary>The real worker (outbox relay, RabbitMQ, SMTP to the test sink) on this class's database, started once.</summary>
    public async Task<WorkerHost> WorkerAsync()
    {
        await _workerLock.WaitAsync();
        try
        {
            return _worker ??= await WorkerHost.StartAsync(
                Api.Database.ConnectionString, Prefix, new Dictionary<string, string?> { ["FeedbackHub:PublicBaseUrl"] = BaseUrl });
        }
        finally
        {
            _workerLock.Release();
        }
    }

    public async Task DisposeAsync()
    {
        if (_worker is not null)
            await _worker.DisposeAsync();
        await ((IAsyncLifetime)Api).DisposeAsync();
        _workerLock.Dispose();
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
