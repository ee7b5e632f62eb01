namespace Hub.Sandbox;

/// <summary>Standalone host: <c>dotnet run --project Hub.Sandbox -- --port 5090</c>.</summary>
public static class SandboxProgram
{
    public static void Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        var app = builder.Build();
        app.Run();
    }
}
