using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using MimeKit;

namespace FeedbackHub.Worker.Tests.Smtp;

/// <summary>
/// A private scripts/smtp_sink.py process for one test: a free loopback port, its own state folder, killed and removed on
/// dispose. Tests that need TLS, AUTH or a refused greeting start one instead of reconfiguring the shared sink.
/// </summary>
public sealed class SinkProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SinkProcess(Process process, int port, string directory)
    {
        _process = process;
        Port = port;
        Directory = directory;
    }

    public int Port { get; }

    public string Directory { get; }

    public string Host { get; } = "127.0.0.1";

    /// <summary>Starts a plain sink with the given options (e.g. --auth user:pass --auth-over-plaintext) and waits until its port answers.</summary>
    public static Task<SinkProcess> StartAsync(params string[] options) => StartInAsync(NewDirectory(), options);

    /// <summary>
    /// Starts a sink with a self-signed certificate for 127.0.0.1 and localhost, made for this sink (cert.pem and key.pem in
    /// its folder, never committed), plus the given options (--require-starttls, --implicit-tls, --auth user:pass).
    /// </summary>
    public static Task<SinkProcess> StartWithCertificateAsync(params string[] options)
    {
        var directory = NewDirectory();
        return StartInAsync(directory, [.. WriteCertificate(directory), .. options]);
    }

    private static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "fh-sink-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        return directory;
    }

    private static async Task<SinkProcess> StartInAsync(string directory, string[] options)
    {
        var port = FreePort();
        var psi = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])[Script, "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--dir", directory, .. options])
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("python3 did not start.");
        var sink = new SinkProcess(process, port, directory);
        process.OutputDataReceived += (_, e) => sink.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => sink.Capture(e.Data);
        process.Exited += (_, _) => sink._listening.TrySetResult();
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        // Its "listening" line, not a probe connection: a probe would count in the sink's connection log.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await sink._listening.Task.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            await sink.DisposeAsync();
            throw new InvalidOperationException($"smtp_sink.py did not start listening: {sink.Output}");
        }

        if (process.HasExited)
            throw new InvalidOperationException($"smtp_sink.py exited with {process.ExitCode}: {sink.Output}");
        return sink;
    }

    private static string[] WriteCertificate(string folder)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        var cert = Path.Combine(folder, "cert.pem");
        var pem = Path.Combine(folder, "key.pem");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        File.WriteAllText(pem, key.ExportPkcs8PrivateKeyPem());
        return ["--tls-cert", cert, "--tls-key", pem];
    }

    private string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    private static string Script
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "scripts", "smtp_sink.py");
                if (File.Exists(candidate))
                    return candidate;
            }

            throw new InvalidOperationException("scripts/smtp_sink.py not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Fault-injection rules (see the sink's docstring), read again by the sink on every command.</summary>
    public void SetRules(params object[] rules)
    {
        var path = Path.Combine(Directory, "smtp-rules.json");
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(new { rules }));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    public void ClearRules() => File.Delete(Path.Combine(Directory, "smtp-rules.json"));

    /// <summary>Every accepted message, parsed (the sink's X-Envelope-* lines are ordinary unsigned headers).</summary>
    public IReadOnlyList<MimeMessage> Mail()
    {
        var folder = Path.Combine(Directory, "mail");
        return System.IO.Directory.Exists(folder)
            ? System.IO.Directory.EnumerateFiles(folder, "*.eml").Order(StringComparer.Ordinal).Select(f => MimeMessage.Load(f)).ToList()
            : [];
    }

    public IReadOnlyList<MimeMessage> MailTo(string recipient) =>
        Mail().Where(m => m.Headers.Any(h => h.Field == "X-Envelope-To" && h.Value.Trim() == recipient)).ToList();

    /// <summary>The sink's log lines (connected, accepted, refused).</summary>
    public IReadOnlyList<JsonElement> Log()
    {
        var path = Path.Combine(Directory, "smtp-log.jsonl");
        if (!File.Exists(path))
            return [];
        return File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }

    public IReadOnlyList<JsonElement> Log(string @event) => Log().Where(e => e.GetProperty("event").GetString() == @event).ToList();

    private void Capture(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
        if (line.StartsWith("smtp_sink: listening on", StringComparison.Ordinal))
            _listening.TrySetResult();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
