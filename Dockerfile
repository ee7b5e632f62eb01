# syntax=docker/dockerfile:1
# Multi-stage build of Hub.Api. No secrets are baked in: configure Hub__Redis__ConnectionString,
# Hub__Admin__ApiKey and Hub__Encryption__Keys__<id> / Hub__Encryption__ActiveKeyId at run time.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY Hub.Core/Hub.Core.csproj Hub.Core/
COPY Hub.Sandbox/Hub.Sandbox.csproj Hub.Sandbox/
COPY Hub.Api/Hub.Api.csproj Hub.Api/
RUN dotnet restore Hub.Api/Hub.Api.csproj
COPY Hub.Core/ Hub.Core/
COPY Hub.Sandbox/ Hub.Sandbox/
COPY Hub.Api/ Hub.Api/
RUN dotnet publish Hub.Api/Hub.Api.csproj -c Release -o /app --no-restore /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
# curl for the HEALTHCHECK only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /app/data && chown app:app /app/data
COPY --from=build --chown=root:root /app .
ENV ASPNETCORE_URLS=http://+:8080 \
    ASPNETCORE_ENVIRONMENT=Production \
    DOTNET_RUNNING_IN_CONTAINER=true \
    Hub__DataDirectory=/app/data
# The non-root user shipped in the .NET images.
USER app
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD curl --fail --silent http://localhost:8080/health/live || exit 1
ENTRYPOINT ["dotnet", "Hub.Api.dll"]
