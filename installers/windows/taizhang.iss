; Inno Setup 6 script: the Windows installer of 社区服务台账 (Taizhang).
; Build steps for a county IT person: installers\windows\BUILD.md.
;
;   ISCC.exe /DAppVersion=0.1.0.0 installers\windows\taizhang.iss   ->  dist\Taizhang-Setup-0.1.0.0.exe
;
; Installs the PyInstaller folder dist\taizhang\ (installers\build.py) per user, without
; administrator rights (a clerk can install and upgrade it), into %LOCALAPPDATA%\Programs\Taizhang;
; an administrator may choose "for all users" instead.  Start-menu entry, optional desktop
; shortcut, uninstaller.  The ledger itself lives in %LOCALAPPDATA%\Taizhang (the app's data
; folder): neither an upgrade nor the uninstaller touches it.
; This file is UTF-8 with BOM (Inno Setup 6 needs the BOM to read the Chinese text).

#ifndef AppVersion
  #define AppVersion "0.1.0.0"
#endif
#define AppName "社区服务台账"
#define AppExe "taizhang.exe"
#define Here AddBackslash(SourcePath)
#define Dist Here + "..\..\dist"

[Setup]
; AppId identifies the program across versions: never change it, or upgrades install side by side.
AppId={{B9DB213C-39D6-4CA5-BC09-CB936B9975CE}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=社区服务台账项目
VersionInfoVersion={#AppVersion}
VersionInfoDescription={#AppName} 安装程序
DefaultDirName={autopf}\Taizhang
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
; Qt 6 needs Windows 10 or later (64-bit).
MinVersion=10.0
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#Dist}
OutputBaseFilename=Taizhang-Setup-{#AppVersion}
SetupIconFile={#Here}..\icons\taizhang.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ShowLanguageDialog=no
; An upgrade closes the running program first (Restart Manager), then replaces it.
CloseApplications=yes
RestartApplications=no

[Languages]
#if FileExists(Here + "ChineseSimplified.isl")
Name: "chinesesimplified"; MessagesFile: "{#Here}ChineseSimplified.isl"
#else
  #pragma message "WARNING: ChineseSimplified.isl is missing next to taizhang.iss (see BUILD.md step 4): the installer's own buttons will be in English"
Name: "english"; MessagesFile: "compiler:Default.isl"
#endif

[Tasks]
Name: "desktopicon"; Description: "在桌面上创建“{#AppName}”图标"; GroupDescription: "附加图标："

[InstallDelete]
; An upgrade replaces the whole program folder's libraries, so no file of an older version lingers.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#Dist}\taizhang\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Comment: "村（社区）工作台账"
Name: "{group}\卸载{#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "现在打开{#AppName}"; Flags: nowait postinstall skipifsilent

[Code]
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  { The uninstaller removes only the program files it installed.  Say where the ledger stays. }
  if (CurUninstallStep = usPostUninstall) and not UninstallSilent then
    MsgBox('程序已卸载。' + #13#10 + #13#10 +
           '您的台账数据没有删除，仍保存在：' + #13#10 + ExpandConstant('{localappdata}\Taizhang') + #13#10 + #13#10 +
           '重新安装本程序后即可继续使用；如需换电脑，请先在程序的“设置 → 备份与恢复”中备份。',
           mbInformation, MB_OK);
end;
