namespace FeedbackHub.Web.Tests.Infrastructure;

/// <summary>
/// Where browser tests leave what a person looks at afterwards: <c>.local/test/artifacts/</c> in the repository
/// (gitignored), or <c>FEEDBACKHUB_TEST_ARTIFACTS</c>.
/// </summary>
public static class Artifacts
{
    public static string Root { get; } = Environment.GetEnvironmentVariable("FEEDBACKHUB_TEST_ARTIFACTS") is { Length: > 0 } root
        ? Path.GetFullPath(root)
        : Path.Combine(RepositoryRoot(), ".local", "test", "artifacts");

    /// <summary><c>screenshots/&lt;test&gt;/</c>, emptied: a rerun never shows an older run's steps beside its own.</summary>
    public static string ScreenshotFolder(string test)
    {
        var folder = Path.Combine(Root, "screenshots", test);
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        return folder;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FeedbackHub.sln")))
                return dir.FullName;
        }

        return Path.Combine(Path.GetTempPath(), "feedbackhub");
    }
}
