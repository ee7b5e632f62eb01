namespace Hub.Tests.Infrastructure;

/// <summary>The repository the tests run from: its root is the folder above the test binaries that holds Hub.sln.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Hub.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException($"No Hub.sln above {AppContext.BaseDirectory}.");
    }
}
