using System.Net;
using System.Net.Sockets;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Images;
using Testcontainers.PostgreSql;

namespace FeedbackHub.Tests;

/// <summary>
/// The PostgreSQL server of this test process (docs/decisions/0012): a Testcontainers <see cref="PostgreSqlContainer"/>,
/// one per test process, started on first use and removed when the process exits; each test class still gets its own
/// migrated database from it by template copy (<see cref="TestDatabase"/>). The image is <c>FEEDBACKHUB_POSTGRES_IMAGE</c>
/// (default <c>postgres:15</c>; without a registry scripts/test.sh builds <c>feedbackhub-local/postgres:15</c> and names
/// it). <c>FEEDBACKHUB_TEST_POSTGRES</c>: <c>container</c> (required; no engine is an error), <c>local</c> (the
/// <c>FEEDBACKHUB_PG</c> server of scripts/services.sh), unset = a container when a Docker engine answers and the
/// container starts (the image is there or can be pulled), else local, said once on stderr with the reason.
/// </summary>
public static class TestPostgres
{
    private static readonly Lazy<Source> Current = new(() => Task.Run(StartAsync).GetAwaiter().GetResult());

    /// <summary>Connection string of the server (superuser, database <c>postgres</c>).</summary>
    public static string ConnectionString => Current.Value.ConnectionString;

    /// <summary>True when the server is this process's container (false: the local services).</summary>
    public static bool InContainer => Current.Value.Container is not null;

    /// <summary>Stops the server as an outage does (its clients' connections die, new ones are refused).</summary>
    public static Task StopServerAsync() =>
        Current.Value.Container is { } container ? container.StopAsync() : TestServices.RunServicesCommandAsync("stop-pg");

    /// <summary>Starts it again on the same address, with its data.</summary>
    public static Task StartServerAsync() =>
        Current.Value.Container is { } container ? container.StartAsync() : TestServices.RunServicesCommandAsync("start-pg");

    private static async Task<Source> StartAsync()
    {
        var mode = Environment.GetEnvironmentVariable("FEEDBACKHUB_TEST_POSTGRES")?.Trim().ToLowerInvariant();
        if (mode == "local")
            return Local("FEEDBACKHUB_TEST_POSTGRES=local");

        // The resource reaper (Ryuk) is an image from a registry; the process removes its own container instead, and
        // scripts/test.sh removes any its run left behind after a crash (label feedbackhub.tests=<its run id>).
        Environment.SetEnvironmentVariable("TESTCONTAINERS_RYUK_DISABLED", "true");
        if (Environment.GetEnvironmentVariable("TESTCONTAINERS_HOST_OVERRIDE") is not { Length: > 0 })
            Environment.SetEnvironmentVariable("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1"); // where the port is published
        await PinApiVersionAsync();
        var image = Environment.GetEnvironmentVariable("FEEDBACKHUB_POSTGRES_IMAGE") is { Length: > 0 } named ? named : "postgres:15";
        PostgreSqlContainer container;
        try
        {
            container = new PostgreSqlBuilder(image)
                .WithUsername("postgres")
                .WithPassword("postgres")
                .WithDatabase("postgres")
                .WithCreateParameterModifier(p => p.HostConfig!.PortBindings = new Dictionary<string, IList<PortBinding>>
                {
                    // Loopback only, and a fixed host port, so a stopped and restarted container (the outage tests) keeps its address.
                    [$"{PostgreSqlBuilder.PostgreSqlPort}/tcp"] = [new PortBinding { HostIP = "127.0.0.1", HostPort = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture) }],
                })
                .WithCommand("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300")
                .WithLabel("feedbackhub.tests", Environment.GetEnvironmentVariable("FEEDBACKHUB_TEST_RUN") is { Length: > 0 } run ? run : "adhoc")
                .WithImagePullPolicy(PullPolicy.Missing)
                .Build();
        }
        catch (DockerUnavailableException) when (mode != "container")
        {
            return Local("no Docker engine answers");
        }

        try
        {
            await container.StartAsync();
        }
        catch (Exception e) when (mode != "container")
        {
            // An engine but no image (no registry and none built): the local server still tests everything.
            await container.DisposeAsync();
            return Local($"the {image} container did not start ({e.GetType().Name}: {e.Message.Split('\n')[0]}); set FEEDBACKHUB_POSTGRES_IMAGE or run scripts/docker.sh postgres-image");
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) => container.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Console.Error.WriteLine($"[tests] PostgreSQL: Testcontainers container {container.Name} from {image} on {container.Hostname}:{container.GetMappedPublicPort(PostgreSqlBuilder.PostgreSqlPort)}");
        return new Source(container.GetConnectionString(), container);
    }

    private static Source Local(string why)
    {
        Console.Error.WriteLine($"[tests] PostgreSQL: {why}; using the local server of scripts/services.sh (FEEDBACKHUB_PG)");
        return new Source(TestServices.LocalPostgres, null);
    }

    /// <summary>
    /// Testcontainers' Docker client speaks API 1.52; an older engine (Debian 12's docker.io 20.10 answers up to 1.41)
    /// refuses it. Unless DOCKER_API_VERSION is set, ask the engine on its socket and use its version when lower.
    /// </summary>
    private static async Task PinApiVersionAsync()
    {
        const string socket = "/var/run/docker.sock";
        if (Environment.GetEnvironmentVariable("DOCKER_API_VERSION") is { Length: > 0 } || Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } || !File.Exists(socket))
            return;
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), ct);
                    return new NetworkStream(s, ownsSocket: true);
                },
            }) { Timeout = TimeSpan.FromSeconds(5) };
            using var version = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri("http://docker/version")));
            var api = System.Version.Parse(version.RootElement.GetProperty("ApiVersion").GetString()!);
            if (api < new System.Version(1, 52))
                Environment.SetEnvironmentVariable("DOCKER_API_VERSION", api.ToString());
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException or TaskCanceledException or System.Text.Json.JsonException)
        {
            // No engine answers there: Testcontainers says so itself.
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed record Source(string ConnectionString, PostgreSqlContainer? Container);
}
